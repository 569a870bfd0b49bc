import { describe, expect, it } from 'vitest';
import { RaftNode } from '../../../src/server/mailbox/core/node';
import type { ElectionRequest, RaftMessage } from '../../../src/server/mailbox/core/types';
import { Cluster, entriesWithTerms } from './harness';

const ABC = ['a', 'b', 'c'];

function committedData(c: Cluster, id: string): string[] {
  return c.get(id).applied.filter((e) => e.type === 'command').map((e) => e.data);
}

describe('raft core: the paper\'s safety properties', () => {
  it('election safety: a node votes at most once per term, also across a restart', () => {
    const c = new Cluster(ABC, { preVote: false });
    const req = (from: string, lastLogIndex = 0): ElectionRequest => ({
      type: 'ELECTION_REQUEST', from, to: 'c', term: 1, preVote: false, lastLogIndex, lastLogTerm: 0, transfer: false,
    });
    c.deliver(req('a'));
    const granted = () => c.queue.filter((m) => m.type === 'ELECTION_RESPONSE' && m.to !== 'c' && m.granted).map((m) => m.to);
    expect(granted()).toEqual(['a']);
    expect(c.get('c').storage.hardState).toMatchObject({ term: 1, vote: 'a' });
    c.queue = [];
    c.crash('c');
    c.restart('c');
    c.deliver(req('b'));
    expect(granted()).toEqual([]);
    c.deliver(req('a'));
    expect(granted()).toEqual(['a']); // a retried request from the same candidate is answered the same way
  });

  it('elects exactly one leader and every node applies the same entries in the same order', () => {
    const c = new Cluster(['a', 'b', 'c', 'd', 'e']);
    const leader = c.tickUntilLeader();
    for (let i = 0; i < 20; i++) expect(c.raft(leader).propose(`cmd${i}`).ok).toBe(true);
    c.tick(5);
    expect(c.leaders()).toEqual([leader]);
    const expected = Array.from({ length: 20 }, (_, i) => `cmd${i}`);
    for (const id of c.nodes.keys()) expect(committedData(c, id)).toEqual(expected);
  });

  it('leader append-only / log truncation on conflict: a deposed leader\'s uncommitted entries are replaced, the new leader\'s are not', () => {
    const c = new Cluster(ABC, { checkQuorum: false });
    c.elect('a');
    expect(c.raft('a').propose('committed-1').ok).toBe(true);
    c.deliverAll();
    c.isolate('a');
    for (let i = 0; i < 3; i++) expect(c.raft('a').propose(`lost-${i}`).ok).toBe(true);
    c.deliverAll();
    c.elect('b');
    expect(c.leaders().sort()).toEqual(['a', 'b']); // a has not heard of term 2 yet
    expect(c.raft('b').propose('kept').ok).toBe(true);
    c.deliverAll();
    const before = c.logTerms('b');
    c.heal();
    c.tick(3);
    expect(c.leaders()).toEqual(['b']);
    expect(c.logTerms('b').slice(0, before.length)).toEqual(before);
    expect(c.logTerms('a')).toEqual(c.logTerms('b'));
    expect(committedData(c, 'a')).toEqual(['committed-1', 'kept']);
  });

  it('log matching (Raft figure 7): followers with missing, extra and conflicting entries converge on the leader\'s log', () => {
    const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const followers: Record<string, number[]> = {
      fa: [1, 1, 1, 4, 4, 5, 5, 6, 6],
      fb: [1, 1, 1, 4],
      fc: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
      fd: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
      fe: [1, 1, 1, 4, 4, 4, 4],
      ff: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    };
    const logs: Record<string, number[]> = { L: leaderLog, ...followers };
    const ids = Object.keys(logs);
    const restored = Object.fromEntries(ids.map((id) => [id, {
      hardState: { term: 7, vote: null, commit: 3 },
      // the leader's entries carry the same data as the followers' entries of the same (index, term)
      entries: entriesWithTerms(logs[id] as number[]),
    }]));
    const c = new Cluster(ids, { restored, checkQuorum: false, maxEntriesPerMsg: 4 });
    c.elect('L');
    expect(c.raft('L').status()).toMatchObject({ role: 'leader', term: 8 });
    // (c) and (d) hold entries the leader lacks and must not vote for it; (a), (b), (e), (f) do
    const votes = c.sent.filter((m) => m.type === 'ELECTION_RESPONSE' && m.to === 'L');
    expect(votes.filter((m) => m.type === 'ELECTION_RESPONSE' && m.granted).map((m) => m.from).sort()).toEqual(['fa', 'fb', 'fe', 'ff']);
    c.tick(5);
    const expected = c.logTerms('L');
    expect(expected).toEqual([...leaderLog, 8]);
    for (const id of Object.keys(followers)) expect(c.logTerms(id), id).toEqual(expected);
    // conflict hints: (f) is brought in line without probing every index one by one
    const rejectsFromF = c.sent.filter((m) => m.type === 'REPLICATE_RESPONSE' && m.from === 'ff' && !m.success);
    expect(rejectsFromF.length).toBeLessThanOrEqual(3);
  });

  it('vote restriction / leader completeness: a node missing committed entries cannot become leader', () => {
    const c = new Cluster(ABC, { checkQuorum: false });
    c.elect('a');
    c.isolate('c');
    for (let i = 0; i < 3; i++) c.raft('a').propose(`x${i}`);
    c.deliverAll();
    expect(c.raft('a').status().commit).toBe(4);
    c.heal();
    c.crash('a');
    c.elect('c'); // stale log: b must refuse
    expect(c.leaders()).toEqual([]);
    const refusal = c.sent.filter((m) => m.type === 'ELECTION_RESPONSE' && m.from === 'b' && m.to === 'c');
    expect(refusal.at(-1)).toMatchObject({ granted: false });
    c.elect('b');
    expect(c.leaders()).toEqual(['b']);
    c.tick(3);
    expect(committedData(c, 'c')).toEqual(['x0', 'x1', 'x2']);
  });

  it('figure 8: an entry from an older term is not committed by counting replicas', () => {
    // Set up figure 8 (c): S1 leads term 4 and holds (2, t2), which it brings to a majority; S5 holds (2, t3).
    const t = (terms: number[], data: string[]) => terms.map((term, i) => ({ term, index: i + 1, type: 'command' as const, data: data[i] as string }));
    const restored = {
      s1: { hardState: { term: 3, vote: null, commit: 1 }, entries: t([1, 2], ['base', 'from-t2']) },
      s2: { hardState: { term: 3, vote: null, commit: 1 }, entries: t([1, 2], ['base', 'from-t2']) },
      s3: { hardState: { term: 3, vote: null, commit: 1 }, entries: t([1], ['base']) },
      s4: { hardState: { term: 3, vote: null, commit: 1 }, entries: t([1], ['base']) },
      s5: { hardState: { term: 3, vote: 's5', commit: 1 }, entries: t([1, 3], ['base', 'from-t3']) },
    };
    const c = new Cluster(['s1', 's2', 's3', 's4', 's5'], { restored, checkQuorum: false, preVote: false, maxEntriesPerMsg: 1 });
    c.crash('s5');
    // the term-4 no-op (index 3) never reaches a follower that would accept it
    const onlyOldEntries = (m: RaftMessage) =>
      m.type !== 'REPLICATE' || m.entries.every((e) => e.index <= 2) || c.get(m.to).raft?.entryAt(m.prevLogIndex)?.term !== m.prevLogTerm;
    c.elect('s1', onlyOldEntries);
    expect(c.raft('s1').status()).toMatchObject({ role: 'leader', term: 4 });
    c.tick(4, onlyOldEntries);
    for (const id of ['s1', 's2', 's3', 's4']) expect(c.raft(id).entryAt(2)?.term, id).toBe(2);
    expect(c.raft('s1').status().commit).toBe(1); // on 4 of 5 nodes, still not committed
    // (d): S1 crashes, S5 wins term 5 and overwrites index 2 everywhere; nobody had applied the old entry
    c.crash('s1');
    c.restart('s5');
    c.elect('s5'); // term 4: the others already voted for s1 in it
    c.elect('s5'); // term 5
    expect(c.raft('s5').status()).toMatchObject({ role: 'leader', term: 5 });
    c.tick(3);
    for (const id of ['s2', 's3', 's4', 's5']) {
      expect(c.raft(id).entryAt(2)?.data).toBe('from-t3');
      expect(c.get(id).applied.some((e) => e.data === 'from-t2')).toBe(false);
    }
    // once S1 is back, a term-5 entry commits and S1 converges too
    c.restart('s1');
    c.tick(5);
    expect(c.raft('s1').entryAt(2)?.data).toBe('from-t3');
    expect(c.get('s1').applied.some((e) => e.data === 'from-t2')).toBe(false);
  });

  it('commits only with a majority of the configured voters, not of the reachable ones', () => {
    const c = new Cluster(['a', 'b', 'c', 'd', 'e'], { checkQuorum: false });
    c.elect('a');
    c.isolate('c');
    c.isolate('d');
    c.isolate('e');
    const r = c.raft('a').propose('needs-3-of-5');
    expect(r.ok).toBe(true);
    c.tick(30);
    expect(c.raft('a').status().commit).toBeLessThan(r.ok ? r.index : 0);
    c.heal();
    c.tick(3);
    expect(committedData(c, 'a')).toEqual(['needs-3-of-5']);
  });
});

describe('raft core: leadership', () => {
  it('a stale leader is deposed when it hears of a newer term, and stops accepting writes', () => {
    const c = new Cluster(ABC, { checkQuorum: false });
    c.elect('a');
    c.isolate('a');
    c.elect('b');
    expect(c.raft('a').status().role).toBe('leader');
    const stale = c.raft('a').propose('from-stale-leader');
    expect(stale.ok).toBe(true);
    c.heal();
    c.tick(3);
    expect(c.raft('a').status()).toMatchObject({ role: 'follower', leader: 'b', term: 2 });
    expect(c.raft('a').propose('again')).toEqual({ ok: false, reason: 'NOT_LEADER', leader: 'b' });
    expect(committedData(c, 'a')).not.toContain('from-stale-leader');
  });

  it('rejects messages of lower terms', () => {
    const c = new Cluster(ABC);
    c.elect('a');
    c.elect('b');
    const before = c.raft('c').status();
    c.deliver({ type: 'REPLICATE', from: 'a', to: 'c', term: 1, prevLogIndex: before.lastIndex, prevLogTerm: 2, entries: [{ term: 1, index: before.lastIndex + 1, type: 'command', data: 'old' }], commit: before.lastIndex + 1 });
    expect(c.raft('c').status()).toMatchObject({ lastIndex: before.lastIndex, term: 2, leader: 'b' });
    // the stale sender is told about the newer term
    expect(c.queue.at(-1)).toMatchObject({ from: 'c', to: 'a', term: 2 });
  });

  it('PreVote: a partitioned node rejoining does not disrupt the leader (and without PreVote it does)', () => {
    for (const preVote of [true, false]) {
      const c = new Cluster(ABC, { preVote, checkQuorum: false });
      c.elect('a');
      c.tick(5);
      c.isolate('c');
      c.tick(200);
      const cTerm = c.raft('c').status().term;
      if (preVote) expect(cTerm).toBe(1);
      else expect(cTerm).toBeGreaterThan(5);
      c.heal();
      c.tick(40);
      const st = c.raft('a').status();
      if (preVote) expect(st).toMatchObject({ role: 'leader', term: 1 });
      else expect(st.term).toBeGreaterThan(1);
      expect(c.leaders()).toHaveLength(1);
    }
  });

  it('CheckQuorum: a leader that cannot hear from a majority steps down within an election timeout', () => {
    for (const checkQuorum of [true, false]) {
      const c = new Cluster(ABC, { checkQuorum, electionTicks: [10, 20] });
      c.elect('a');
      c.tick(5);
      c.isolate('a');
      c.tick(21);
      expect(c.raft('a').status().role).toBe(checkQuorum ? 'follower' : 'leader');
    }
  });

  it('leadership transfer: PROMOTE_TO_LEADER makes the target campaign at once', () => {
    const c = new Cluster(ABC);
    c.elect('a');
    c.raft('a').propose('x');
    c.raft('a').transferLeadership('c');
    expect(c.raft('a').propose('during')).toMatchObject({ ok: false, reason: 'LEADER_TRANSFER_IN_PROGRESS' });
    c.deliverAll();
    expect(c.leaders()).toEqual(['c']);
    expect(c.raft('c').status().term).toBe(2);
    expect(c.sent.some((m) => m.type === 'PROMOTE_TO_LEADER' && m.from === 'a' && m.to === 'c')).toBe(true);
  });

  it('a node steps up by randomized timeout when the leader crashes', () => {
    const c = new Cluster(['a', 'b', 'c', 'd', 'e']);
    const first = c.tickUntilLeader();
    c.crash(first);
    c.tick(25);
    const second = c.tickUntilLeader();
    expect(second).not.toBe(first);
    expect(c.raft(second).status().term).toBeGreaterThan(1);
  });
});

describe('raft core: ReadIndex', () => {
  it('confirms a read only after a heartbeat round reaches a majority', () => {
    const c = new Cluster(ABC);
    c.elect('a');
    c.raft('a').propose('w');
    c.deliverAll();
    expect(c.raft('a').readIndex('r1')).toEqual({ ok: true });
    c.drain(c.get('a'));
    expect(c.get('a').readStates).toEqual([]);
    c.deliverAll();
    expect(c.get('a').readStates).toEqual([{ ctx: 'r1', index: 2 }]);
  });

  it('an isolated leader never confirms, and aborts the read when it steps down', () => {
    const c = new Cluster(ABC, { checkQuorum: true });
    c.elect('a');
    c.deliverAll();
    c.isolate('a');
    c.raft('a').readIndex('stale');
    c.tick(25);
    expect(c.get('a').readStates).toEqual([]);
    expect(c.get('a').abortedReads).toEqual(['stale']);
    expect(c.raft('b').readIndex('x')).toMatchObject({ ok: false, reason: 'NOT_LEADER' });
  });

  it('waits for the leader\'s first commit in its term', () => {
    const c = new Cluster(ABC);
    c.elect('a', (m) => m.type !== 'REPLICATE'); // elected, but the no-op is not replicated yet
    expect(c.raft('a').status().commit).toBe(0);
    c.raft('a').readIndex('early');
    c.tick(1, (m) => m.type !== 'REPLICATE');
    expect(c.get('a').readStates).toEqual([]);
    c.tick(3);
    expect(c.get('a').readStates).toEqual([{ ctx: 'early', index: 1 }]);
  });
});

describe('raft core: membership changes', () => {
  it('add learner, it catches up without voting, then is promoted', () => {
    const c = new Cluster(ABC);
    c.elect('a');
    for (let i = 0; i < 10; i++) c.raft('a').propose(`p${i}`);
    c.deliverAll();
    c.addNode('d');
    expect(c.raft('a').proposeConfChange({ type: 'promoteLearner', node: 'd' })).toMatchObject({ ok: false, reason: 'INVALID_CONF_CHANGE' });
    const add = c.raft('a').proposeConfChange({ type: 'addLearner', node: 'd' });
    expect(add.ok).toBe(true);
    expect(c.raft('a').proposeConfChange({ type: 'removeNode', node: 'b' })).toMatchObject({ ok: false, reason: 'CONF_CHANGE_PENDING' });
    // learner does not count toward the quorum: with b and c cut off nothing commits
    c.isolate('b');
    c.isolate('c');
    c.cutLink('a', 'b'); // keep a<->d only
    c.heal();
    c.cutLink('a', 'b');
    c.cutLink('a', 'c');
    c.tick(3);
    expect(c.raft('a').status().commit).toBeLessThan(add.ok ? add.index : 0);
    expect(c.raft('d').status().role).toBe('learner');
    expect(c.raft('d').status().lastIndex).toBe(c.raft('a').status().lastIndex); // but it receives entries
    c.heal();
    c.tick(3);
    expect(c.raft('a').status()).toMatchObject({ voters: ABC, learners: ['d'] });
    expect(committedData(c, 'd')).toEqual(committedData(c, 'a'));
    // a learner never campaigns
    c.crash('a');
    c.crash('b');
    c.crash('c');
    c.tick(100);
    expect(c.raft('d').status().role).toBe('learner');
    for (const id of ['a', 'b', 'c']) c.restart(id);
    const leader = c.tickUntilLeader();
    c.tick(3);
    const promote = c.raft(leader).proposeConfChange({ type: 'promoteLearner', node: 'd' });
    expect(promote.ok).toBe(true);
    c.tick(3);
    for (const id of ['a', 'b', 'c', 'd']) expect(c.raft(id).status()).toMatchObject({ voters: ['a', 'b', 'c', 'd'], learners: [] });
    // 4 voters: a majority is 3, so two crashed nodes block commits
    c.crash(['a', 'b', 'c', 'd'].find((x) => x !== leader) as string);
    c.crash(['a', 'b', 'c', 'd'].filter((x) => x !== leader)[1] as string);
    const r = c.raft(leader).propose('needs-3-of-4');
    c.tick(10);
    expect(c.raft(leader).status().commit).toBeLessThan(r.ok ? r.index : 0);
  });

  it('refuses to promote a learner that has not caught up', () => {
    const c = new Cluster(ABC);
    c.elect('a');
    c.addNode('d');
    c.raft('a').proposeConfChange({ type: 'addLearner', node: 'd' });
    c.deliverAll((m) => m.to !== 'd');
    expect(c.raft('a').proposeConfChange({ type: 'promoteLearner', node: 'd' })).toMatchObject({ ok: false, reason: 'LEARNER_NOT_CAUGHT_UP' });
  });

  it('removes a follower, and removes the leader which hands over after the change commits', () => {
    const c = new Cluster(['a', 'b', 'c', 'd']);
    c.elect('a');
    c.deliverAll();
    expect(c.raft('a').proposeConfChange({ type: 'removeNode', node: 'd' }).ok).toBe(true);
    c.tick(2);
    expect(c.raft('a').status().voters).toEqual(ABC);
    c.crash('d');
    // remove the leader itself
    const r = c.raft('a').proposeConfChange({ type: 'removeNode', node: 'a' });
    expect(r.ok).toBe(true);
    expect(c.raft('a').status()).toMatchObject({ role: 'leader', voters: ['b', 'c'] }); // takes effect on append
    c.deliverAll();
    expect(c.raft('a').status().role).toBe('follower');
    const next = c.tickUntilLeader();
    expect(['b', 'c']).toContain(next);
    c.raft(next).propose('after-removal');
    c.tick(30);
    expect(committedData(c, 'b')).toContain('after-removal');
    expect(c.raft('a').status().role).toBe('follower'); // a removed node never campaigns
    expect(c.leaders()).toEqual([next]);
  });
});

describe('raft core: snapshots', () => {
  it('installs a snapshot on a laggard whose entries were compacted away', () => {
    const c = new Cluster(ABC);
    c.elect('a');
    c.crash('c');
    for (let i = 0; i < 30; i++) c.raft('a').propose(`p${i}`);
    c.tick(2);
    for (const id of ['a', 'b']) {
      const st = c.raft(id).status();
      const snap = c.raft(id).compact(st.applied, `image-at-${st.applied}`);
      expect(snap).toMatchObject({ index: 31, voters: ABC, learners: [] });
    }
    expect(c.raft('a').status().firstIndex).toBe(32);
    c.raft('a').propose('after-snapshot');
    c.restart('c');
    c.tick(5);
    const node = c.get('c');
    expect(node.installed.map((s) => s.data)).toEqual(['image-at-31']);
    // index 1 (the no-op) it had before crashing is re-applied from its own log; 2..31 come as the image
    expect(node.applied.map((e) => [e.index, e.data])).toEqual([[1, ''], [32, 'after-snapshot']]);
    expect(c.raft('c').status()).toMatchObject({ commit: 32, lastIndex: 32 });
    expect(c.sent.filter((m) => m.type === 'DATA_SYNC_REQUEST' && m.to === 'c')).toHaveLength(1);
    // and it restarts from its own persisted snapshot + entries
    c.crash('c');
    c.restart('c');
    expect(c.raft('c').status()).toMatchObject({ firstIndex: 32, lastIndex: 32, commit: 32 });
  });

  it('refuses to compact beyond what was applied', () => {
    const c = new Cluster(ABC);
    c.elect('a');
    expect(() => c.raft('a').compact(99, 'x')).toThrow(/beyond applied/);
  });
});

describe('raft core: batching', () => {
  it('a burst of proposals travels in few REPLICATE messages (group commit)', () => {
    const c = new Cluster(ABC, { maxEntriesPerMsg: 16 });
    c.elect('a');
    c.deliverAll();
    const sentBefore = c.sent.length;
    for (let i = 0; i < 100; i++) expect(c.raft('a').propose(`p${i}`).ok).toBe(true);
    c.deliverAll();
    const replicates = c.sent.slice(sentBefore).filter((m) => m.type === 'REPLICATE' && m.to === 'b' && m.entries.length > 0);
    expect(replicates).toHaveLength(Math.ceil(100 / 16));
    expect(committedData(c, 'a')).toHaveLength(100);
    c.tick(2); // the heartbeat carries the commit index
    expect(committedData(c, 'b')).toHaveLength(100);
  });

  it('one append at a time costs one REPLICATE and one answer per follower: no empty REPLICATE per commit', () => {
    const c = new Cluster(ABC);
    c.elect('a');
    c.deliverAll();
    const sentBefore = c.sent.length;
    for (let i = 0; i < 5; i++) {
      expect(c.raft('a').propose(`p${i}`).ok).toBe(true);
      c.deliverAll();
      expect(committedData(c, 'a')).toHaveLength(i + 1); // committed (and answered) at once
    }
    const sent = c.sent.slice(sentBefore);
    expect(sent.filter((m) => m.type === 'REPLICATE' && m.entries.length === 0)).toEqual([]);
    expect(sent.filter((m) => m.type === 'REPLICATE')).toHaveLength(10);
    expect(sent.filter((m) => m.type === 'REPLICATE_RESPONSE')).toHaveLength(10);
    // followers learn each commit index from the next REPLICATE, the last one from a heartbeat
    expect(committedData(c, 'b')).toHaveLength(4);
    c.tick(2);
    expect(committedData(c, 'b')).toHaveLength(5);
    expect(committedData(c, 'c')).toHaveLength(5);
  });

  it('concurrent reads share one heartbeat round', () => {
    const c = new Cluster(ABC);
    c.elect('a');
    c.deliverAll();
    const sentBefore = c.sent.length;
    for (let i = 0; i < 10; i++) c.raft('a').readIndex(`r${i}`);
    c.deliverAll();
    expect(c.sent.slice(sentBefore).filter((m) => m.type === 'HEARTBEAT')).toHaveLength(2);
    expect(c.get('a').readStates.map((r) => r.ctx)).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`));
  });
});

describe('raft core: restart and Ready contract', () => {
  it('a restarted node re-delivers committed entries after its snapshot and keeps term and vote', () => {
    const c = new Cluster(ABC);
    c.elect('a');
    for (let i = 0; i < 5; i++) c.raft('a').propose(`p${i}`);
    c.tick(3);
    c.crash('b');
    c.restart('b');
    expect(c.raft('b').status()).toMatchObject({ term: 1, commit: 6 });
    expect(committedData(c, 'b')).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
  });

  it('re-delivers only what the host has not applied when told its applied index', () => {
    const entries = entriesWithTerms([1, 1, 1, 1]);
    const n = new RaftNode({
      id: 'a', voters: ABC, electionTicks: [10, 20], heartbeatTicks: 2, preVote: true, checkQuorum: true, random: () => 0.5,
      restored: { hardState: { term: 1, vote: 'a', commit: 2 }, entries, applied: 3 },
    });
    expect(n.status()).toMatchObject({ commit: 3, applied: 3, lastIndex: 4 });
    expect(n.hasReady()).toBe(false);
    expect(() => new RaftNode({
      id: 'a', voters: ABC, electionTicks: [10, 20], heartbeatTicks: 2, preVote: true, checkQuorum: true, random: () => 0.5,
      restored: { hardState: { term: 1, vote: null, commit: 0 }, entries: entriesWithTerms([1, 1]).slice(1) },
    })).toThrow(/not contiguous/);
  });

  it('never emits messages of a term or vote it has not handed over for persisting first', () => {
    const n = new RaftNode({ id: 'a', voters: ABC, electionTicks: [3, 3], heartbeatTicks: 1, preVote: false, checkQuorum: false, random: () => 0 });
    for (let i = 0; i < 3; i++) n.tick();
    const rd = n.ready();
    expect(rd.hardState).toEqual({ term: 1, vote: 'a', commit: 0 });
    expect(rd.messages.map((m) => [m.type, m.to, m.term])).toEqual([['ELECTION_REQUEST', 'b', 1], ['ELECTION_REQUEST', 'c', 1]]);
    n.advance(rd);
    expect(n.hasReady()).toBe(false);
  });

  it('validates its configuration', () => {
    expect(() => new RaftNode({ id: 'a', voters: ABC, electionTicks: [5, 3], heartbeatTicks: 1, preVote: true, checkQuorum: true, random: () => 0 })).toThrow();
    expect(() => new RaftNode({ id: 'a', voters: ABC, electionTicks: [5, 9], heartbeatTicks: 5, preVote: true, checkQuorum: true, random: () => 0 })).toThrow();
  });
});
