/**
 * Deterministic simulator for the Raft core + mailbox state machine.
 *
 * N nodes exchange messages over a network that loses, duplicates, delays (and so reorders)
 * messages and can be partitioned; nodes crash and restart from what they persisted (hard state,
 * entries, snapshot) only; hosts compact their logs. Writer clients append with request ids and
 * retry on timeouts/redirects; reader clients read through ReadIndex and ACK what they read.
 * Everything is driven by one seeded PRNG, so a failing seed replays exactly:
 *
 *   npx tsx test/unit/mailbox/sim.ts --seed 1234 [--verbose]
 */
import { RaftNode } from '../../../src/server/mailbox/core/node';
import { QueueState, encodeQueueCommand, type ApplyResult, type QueueCommand } from '../../../src/server/mailbox/core/queue-state';
import type { ConfChange, Entry, HardState, NodeId, RaftMessage, Ready, Snapshot } from '../../../src/server/mailbox/core/types';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SimOptions {
  nodes: number;
  /** ticks of chaos, followed by a healing phase that must converge */
  ticks: number;
  loss: number;
  dup: number;
  maxDelay: number;
  crashRate: number;
  restartRate: number;
  partitionRate: number;
  healRate: number;
  writers: number;
  readers: number;
  /** compact when this many applied entries are held in the log */
  compactAfter: number;
  preVote: boolean;
  checkQuorum: boolean;
  /** also run membership changes: add a learner, promote it, remove a random member */
  confChanges: boolean;
  /** probability that a node crashes right after persisting a vote (exercises vote durability) */
  crashAfterVote: number;
  maxEntriesPerMsg: number;
  /** probability that a client ignores its leader guess and asks a random node (exercises stale leaders) */
  clientWander: number;
  verbose: boolean;
  /** deliberately broken host behaviour, to show the checks catch it */
  hostBug?: 'forget-vote' | 'lose-unsynced-entries';
}

export function optionsForSeed(seed: number, overrides: Partial<SimOptions> = {}): SimOptions {
  const r = mulberry32(seed ^ 0x5eed);
  return {
    nodes: r() < 0.6 ? 3 : 5,
    ticks: 250,
    loss: r() * 0.15,
    dup: r() * 0.1,
    maxDelay: 1 + Math.floor(r() * 4),
    crashRate: r() * 0.02,
    restartRate: 0.05,
    partitionRate: r() * 0.02,
    healRate: 0.03,
    writers: 3,
    readers: 3,
    compactAfter: 10 + Math.floor(r() * 30),
    preVote: r() < 0.75,
    checkQuorum: r() < 0.75,
    confChanges: r() < 0.3,
    crashAfterVote: r() < 0.5 ? 0.3 : 0,
    maxEntriesPerMsg: 1 + Math.floor(r() * 8),
    clientWander: r() * 0.5,
    verbose: false,
    ...overrides,
  };
}

interface Storage {
  hardState: HardState;
  entries: Entry[];
  snapshot: Snapshot | undefined;
  /**
   * The commit index as of the last fsynced write. The host writes a hard state whose only change
   * is the commit index without an fsync (etcd's MustSync), so a crash may take it back to this.
   */
  syncedCommit: number;
}

type ClientRequest =
  | { kind: 'write'; client: string; token: number; cmd: QueueCommand }
  | { kind: 'read'; client: string; token: number; queue: string; reader: string };

type ClientReply =
  | { kind: 'redirect'; client: string; token: number; leader: NodeId | undefined }
  | { kind: 'failed'; client: string; token: number }
  | { kind: 'applied'; client: string; token: number; result: ApplyResult }
  | { kind: 'read'; client: string; token: number; value: { seq: number; data: string } | null };

type Delivery =
  | { kind: 'raft'; msg: RaftMessage }
  | { kind: 'request'; to: NodeId; req: ClientRequest }
  | { kind: 'reply'; reply: ClientReply };

const ELECTION: [number, number] = [10, 20];
const HEARTBEAT = 2;
const CLIENT_TIMEOUT = 15;

class SimHost {
  raft: RaftNode | null = null;
  sm = new QueueState();
  storage: Storage = { hardState: { term: 0, vote: null, commit: 0 }, entries: [], snapshot: undefined, syncedCommit: 0 };
  pendingWrites = new Map<number, { term: number; client: string; token: number }>();
  pendingReads = new Map<string, { client: string; token: number; queue: string; reader: string }>();
  confirmedReads: Array<{ ctx: string; index: number }> = [];
  wasLeader = false;
  constructor(readonly id: NodeId) {}
}

interface Writer {
  id: string;
  queue: string;
  created: boolean;
  nextReq: number;
  /** current operation: reqId ('' for CREATE_QUEUE) */
  op: { reqId: string; token: number; sentAt: number; cmd: QueueCommand } | null;
  leaderGuess: NodeId | undefined;
}

interface Reader {
  id: string;
  queue: string;
  ackedPos: number;
  phase: 'idle' | 'reading' | 'acking';
  token: number;
  sentAt: number;
  ackSeq: number;
  leaderGuess: NodeId | undefined;
}

export interface SimReport {
  seed: number;
  options: SimOptions;
  violations: string[];
  stats: { acked: number; reads: number; elections: number; crashes: number; snapshotsSent: number; finalCommit: number; confChanges: number };
}

export function runSim(seed: number, overrides: Partial<SimOptions> = {}): SimReport {
  const opt = optionsForSeed(seed, overrides);
  const rnd = mulberry32(seed);
  const violations: string[] = [];
  const violate = (s: string): void => {
    if (violations.length < 20) violations.push(`t=${now}: ${s}`);
  };
  const log = (s: string): void => {
    if (opt.verbose) console.log(`[${now}] ${s}`);
  };
  const stats = { acked: 0, reads: 0, elections: 0, crashes: 0, snapshotsSent: 0, finalCommit: 0, confChanges: 0 };

  const bootstrap = Array.from({ length: opt.nodes }, (_, i) => `n${i + 1}`);
  const spare = opt.confChanges ? [`n${opt.nodes + 1}`] : [];
  const hosts = new Map<NodeId, SimHost>([...bootstrap, ...spare].map((id) => [id, new SimHost(id)]));
  let now = 0;
  let chaosOn = true;
  const quickRestart = new Set<NodeId>();
  let loss = opt.loss;
  let dup = opt.dup;
  /** node -> partition group; messages between different groups are dropped */
  const group = new Map<NodeId, number>();
  const inflight = new Map<number, Delivery[]>();

  // global observations for the safety checks
  const leaderOfTerm = new Map<number, NodeId>();
  const committed = new Map<number, { term: number; type: string; data: string }>();
  const payloadAt = new Map<string, string>(); // `${queue}#${seq}` -> data
  const seqOfReq = new Map<string, number>(); // `${client}/${reqId}` -> seq acked
  const acked: Array<{ queue: string; seq: number; data: string }> = [];

  const random = (): number => rnd();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;

  function schedule(d: Delivery, extraDelay = 0): void {
    if (rnd() < loss) return;
    const copies = rnd() < dup ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const at = now + 1 + extraDelay + Math.floor(rnd() * opt.maxDelay);
      let bucket = inflight.get(at);
      if (!bucket) inflight.set(at, (bucket = []));
      bucket.push(d);
    }
  }

  function start(h: SimHost): void {
    const s = h.storage;
    if (opt.hostBug === 'forget-vote') s.hardState.vote = null;
    if (opt.hostBug === 'lose-unsynced-entries' && s.entries.length > 0) s.entries = s.entries.slice(0, -Math.ceil(rnd() * 3));
    const restored = s.hardState.term > 0 || s.entries.length > 0 || s.snapshot !== undefined;
    h.raft = new RaftNode({
      id: h.id,
      voters: bootstrap.includes(h.id) ? bootstrap : [],
      electionTicks: ELECTION,
      heartbeatTicks: HEARTBEAT,
      preVote: opt.preVote,
      checkQuorum: opt.checkQuorum,
      random,
      maxEntriesPerMsg: opt.maxEntriesPerMsg,
      ...(restored ? { restored: { hardState: { ...s.hardState }, entries: s.entries.map((e) => ({ ...e })), ...(s.snapshot ? { snapshot: s.snapshot } : {}) } } : {}),
    });
    h.sm = s.snapshot ? QueueState.fromSnapshot(s.snapshot.data) : new QueueState();
    h.wasLeader = false;
  }

  function crash(h: SimHost): void {
    h.raft = null;
    // the unsynced commit-index write is lost (power cut) or survives (process crash)
    if (rnd() < 0.5) h.storage.hardState.commit = h.storage.syncedCommit;
    h.pendingWrites.clear();
    h.pendingReads.clear();
    h.confirmedReads = [];
    stats.crashes++;
    log(`${h.id} crashed`);
  }

  for (const id of bootstrap) start(hosts.get(id) as SimHost);

  function reply(r: ClientReply): void {
    schedule({ kind: 'reply', reply: r });
  }

  function recordApply(h: SimHost, e: Entry): void {
    const prev = committed.get(e.index);
    if (!prev) committed.set(e.index, { term: e.term, type: e.type, data: e.data });
    else if (prev.term !== e.term || prev.data !== e.data || prev.type !== e.type) {
      violate(`state machine safety: ${h.id} applied ${e.index}/${e.term} but ${prev.term} was applied elsewhere`);
    }
    if (e.index !== h.sm.appliedIndex + 1) violate(`${h.id} applied ${e.index} after ${h.sm.appliedIndex} (gap or repeat)`);
  }

  function processReady(h: SimHost): void {
    const raft = h.raft;
    if (!raft) return;
    let guard = 0;
    while (raft.hasReady()) {
      if (++guard > 1000) {
        violate(`${h.id} Ready loop does not settle`);
        return;
      }
      const rd: Ready = raft.ready();
      // 1. persist
      if (rd.snapshot) {
        h.storage.snapshot = rd.snapshot;
        h.storage.entries = [];
        h.sm = QueueState.fromSnapshot(rd.snapshot.data);
        log(`${h.id} installed snapshot @${rd.snapshot.index}`);
      }
      if (rd.entries.length > 0) {
        const first = (rd.entries[0] as Entry).index;
        // leader append-only: while leading, a node only ever appends after what it already stored
        const stored = h.storage.entries[h.storage.entries.length - 1]?.index ?? h.storage.snapshot?.index ?? 0;
        if (h.wasLeader && rd.softState.role === 'leader' && first <= stored) violate(`leader append-only: ${h.id} rewrote from ${first} (had ${stored})`);
        h.storage.entries = h.storage.entries.filter((e) => e.index < first).concat(rd.entries.map((e) => ({ ...e })));
      }
      const prevHard = h.storage.hardState;
      const mustSync = rd.entries.length > 0 || rd.snapshot !== undefined ||
        (rd.hardState !== undefined && (rd.hardState.term !== prevHard.term || rd.hardState.vote !== prevHard.vote));
      if (rd.hardState) h.storage.hardState = { ...rd.hardState };
      if (mustSync) h.storage.syncedCommit = h.storage.hardState.commit;
      // 2. send
      for (const m of rd.messages) {
        if (m.type === 'DATA_SYNC_REQUEST') stats.snapshotsSent++;
        schedule({ kind: 'raft', msg: m });
      }
      // 3. apply
      for (const e of rd.committed) {
        recordApply(h, e);
        const res = h.sm.apply(e);
        if (res && res.ok && res.op === 'APPEND' && !res.duplicate) {
          const cmd = JSON.parse(e.data) as { queue: string; data: string };
          const key = `${cmd.queue}#${res.seq}`;
          const had = payloadAt.get(key);
          if (had === undefined) payloadAt.set(key, cmd.data);
          else if (had !== cmd.data) violate(`(queue, seq) ${key} holds ${cmd.data} on ${h.id} but ${had} elsewhere`);
        }
        const p = h.pendingWrites.get(e.index);
        if (p) {
          h.pendingWrites.delete(e.index);
          if (p.term === e.term && res) reply({ kind: 'applied', client: p.client, token: p.token, result: res });
          else reply({ kind: 'failed', client: p.client, token: p.token });
        }
      }
      h.confirmedReads.push(...rd.readStates);
      for (const ctx of rd.abortedReads) {
        const p = h.pendingReads.get(ctx);
        if (p) {
          h.pendingReads.delete(ctx);
          reply({ kind: 'failed', client: p.client, token: p.token });
        }
      }
      const isLeader = rd.softState.role === 'leader';
      if (isLeader && !h.wasLeader) onBecameLeader(h);
      if (!isLeader && h.wasLeader) {
        for (const p of h.pendingWrites.values()) reply({ kind: 'failed', client: p.client, token: p.token });
        h.pendingWrites.clear();
      }
      h.wasLeader = isLeader;
      raft.advance(rd);
      const votedNow = rd.messages.some((m) => m.type === 'ELECTION_RESPONSE' && m.granted && !m.preVote);
      if (votedNow && chaosOn && rnd() < opt.crashAfterVote) {
        crash(h);
        quickRestart.add(h.id); // process crash + supervisor restart: back next tick
        return;
      }
    }
    // serve confirmed reads once applied
    const still: Array<{ ctx: string; index: number }> = [];
    for (const rs of h.confirmedReads) {
      if (rs.index > h.sm.appliedIndex) {
        still.push(rs);
        continue;
      }
      const p = h.pendingReads.get(rs.ctx);
      if (!p) continue;
      h.pendingReads.delete(rs.ctx);
      reply({ kind: 'read', client: p.client, token: p.token, value: h.sm.read(p.queue, p.reader) });
    }
    h.confirmedReads = still;
    maybeCompact(h);
  }

  function onBecameLeader(h: SimHost): void {
    const raft = h.raft as RaftNode;
    const st = raft.status();
    stats.elections++;
    log(`${h.id} leader of term ${st.term}`);
    const other = leaderOfTerm.get(st.term);
    if (other !== undefined && other !== h.id) violate(`election safety: ${other} and ${h.id} both leaders of term ${st.term}`);
    leaderOfTerm.set(st.term, h.id);
    // leader completeness: every entry known committed must be in the new leader's log
    for (const [index, c] of committed) {
      if (index < st.firstIndex) continue;
      const e = raft.entryAt(index);
      if (!e || e.term !== c.term || e.data !== c.data) violate(`leader completeness: ${h.id} (term ${st.term}) lacks committed entry ${index}/${c.term}`);
    }
  }

  function maybeCompact(h: SimHost): void {
    const raft = h.raft;
    if (!raft) return;
    const st = raft.status();
    if (h.sm.appliedIndex - st.firstIndex < opt.compactAfter || h.sm.appliedIndex !== st.applied) return;
    const snap = raft.compact(st.applied, h.sm.snapshot());
    if (!snap) return;
    h.storage.snapshot = snap;
    h.storage.entries = h.storage.entries.filter((e) => e.index > snap.index);
    h.storage.syncedCommit = h.storage.hardState.commit; // a durable write: what came before is durable too
  }

  // ------------------------------------------------------------ clients

  const writers: Writer[] = Array.from({ length: opt.writers }, (_, i) => ({
    id: `w${i}`, queue: `q${i % 2}`, created: false, nextReq: 1, op: null, leaderGuess: undefined,
  }));
  const readers: Reader[] = Array.from({ length: opt.readers }, (_, i) => ({
    id: `r${i}`, queue: `q${i % 2}`, ackedPos: 0, phase: 'idle', token: 0, sentAt: 0, ackSeq: 0, leaderGuess: undefined,
  }));
  let tokenSeq = 1;
  const appendAttempts = new Map<number, { key: string; queue: string; data: string }>();
  const members = (): NodeId[] => [...hosts.keys()];

  function sendWrite(w: Writer): void {
    if (!w.op) return;
    w.op.token = tokenSeq++;
    w.op.sentAt = now;
    const cmd = w.op.cmd;
    if (cmd.op === 'APPEND') appendAttempts.set(w.op.token, { key: `${w.id}/${cmd.reqId}`, queue: cmd.queue, data: cmd.data });
    const to = (rnd() < opt.clientWander ? undefined : w.leaderGuess) ?? pick(members());
    schedule({ kind: 'request', to, req: { kind: 'write', client: w.id, token: w.op.token, cmd: w.op.cmd } });
  }

  function sendRead(r: Reader): void {
    r.token = tokenSeq++;
    r.sentAt = now;
    const to = (rnd() < opt.clientWander ? undefined : r.leaderGuess) ?? pick(members());
    if (r.phase === 'reading') {
      schedule({ kind: 'request', to, req: { kind: 'read', client: r.id, token: r.token, queue: r.queue, reader: r.id } });
    } else {
      const cmd: QueueCommand = { op: 'ACK', queue: r.queue, reader: r.id, seq: r.ackSeq };
      schedule({ kind: 'request', to, req: { kind: 'write', client: r.id, token: r.token, cmd } });
    }
  }

  function clientTick(startNew: boolean): void {
    for (const w of writers) {
      if (!w.op && startNew && rnd() < 0.3) {
        if (!w.created) w.op = { reqId: '', token: 0, sentAt: now, cmd: { op: 'CREATE_QUEUE', queue: w.queue } };
        else {
          const reqId = `${w.id}-${w.nextReq++}`;
          w.op = { reqId, token: 0, sentAt: now, cmd: { op: 'APPEND', queue: w.queue, data: `${w.id}:${reqId}`, reqId, clientId: w.id } };
        }
        sendWrite(w);
      } else if (w.op && now - w.op.sentAt > CLIENT_TIMEOUT) {
        w.leaderGuess = undefined;
        sendWrite(w);
      }
    }
    for (const r of readers) {
      if (r.phase === 'idle' && startNew && rnd() < 0.4) {
        r.phase = 'reading';
        sendRead(r);
      } else if (r.phase !== 'idle' && now - r.sentAt > CLIENT_TIMEOUT) {
        r.leaderGuess = undefined;
        sendRead(r);
      }
    }
  }

  function onReply(rep: ClientReply): void {
    // A reply for an APPEND is checked even if the client gave up on that attempt.
    const attempt = appendAttempts.get(rep.token);
    if (attempt && rep.kind === 'applied' && rep.result.ok && rep.result.op === 'APPEND') {
      const before = seqOfReq.get(attempt.key);
      if (before !== undefined && before !== rep.result.seq) violate(`dedup: ${attempt.key} acked as seq ${before} and ${rep.result.seq}`);
      if (before === undefined) {
        seqOfReq.set(attempt.key, rep.result.seq);
        acked.push({ queue: attempt.queue, seq: rep.result.seq, data: attempt.data });
        stats.acked++;
      }
    }
    const w = writers.find((x) => x.id === rep.client);
    if (w) {
      if (!w.op || w.op.token !== rep.token) return;
      if (rep.kind === 'redirect') {
        w.leaderGuess = rep.leader;
        w.op.sentAt = now - CLIENT_TIMEOUT + 3; // retry soon
      } else if (rep.kind === 'failed') {
        w.leaderGuess = undefined;
        w.op.sentAt = now - CLIENT_TIMEOUT + 3;
      } else if (rep.kind === 'applied') {
        if (rep.result.ok) {
          if (w.op.cmd.op === 'CREATE_QUEUE') w.created = true;
          w.op = null;
        } else {
          violate(`write ${JSON.stringify(w.op.cmd)} failed: ${rep.result.reason}`);
          w.op = null;
        }
      }
      return;
    }
    const r = readers.find((x) => x.id === rep.client);
    if (!r || r.token !== rep.token || r.phase === 'idle') return;
    if (rep.kind === 'redirect' || rep.kind === 'failed') {
      r.leaderGuess = rep.kind === 'redirect' ? rep.leader : undefined;
      r.sentAt = now - CLIENT_TIMEOUT + 3;
      return;
    }
    if (rep.kind === 'read' && r.phase === 'reading') {
      stats.reads++;
      if (!rep.value) {
        r.phase = 'idle';
        return;
      }
      if (rep.value.seq <= r.ackedPos) violate(`stale read: ${r.id} read seq ${rep.value.seq} after acking ${r.ackedPos}`);
      const key = `${r.queue}#${rep.value.seq}`;
      const had = payloadAt.get(key);
      if (had !== undefined && had !== rep.value.data) violate(`read ${key} = ${rep.value.data} but committed ${had}`);
      r.phase = 'acking';
      r.ackSeq = rep.value.seq;
      sendRead(r);
      return;
    }
    if (rep.kind === 'applied' && r.phase === 'acking') {
      const res = rep.result;
      if (res.ok && res.op === 'ACK') {
        if (res.position < r.ackedPos) violate(`read position of ${r.id} went back from ${r.ackedPos} to ${res.position}`);
        if (res.position < r.ackSeq) violate(`ACK ${r.ackSeq} by ${r.id} left position at ${res.position}`);
        r.ackedPos = Math.max(r.ackedPos, res.position);
      } else if (!res.ok && res.code === 'NO_SUCH_QUEUE') {
        violate(`ACK on ${r.queue} after reading from it: queue missing`);
      } else if (!res.ok) {
        violate(`ACK ${r.ackSeq} by ${r.id} rejected: ${res.reason}`);
      }
      r.phase = 'idle';
    }
  }

  function onRequest(to: NodeId, req: ClientRequest): void {
    const h = hosts.get(to);
    const raft = h?.raft;
    if (!h || !raft) return; // node down: request lost, client times out
    if (req.kind === 'write') {
      const res = raft.propose(encodeQueueCommand(req.cmd));
      if (!res.ok) reply({ kind: 'redirect', client: req.client, token: req.token, leader: res.leader });
      else h.pendingWrites.set(res.index, { term: res.term, client: req.client, token: req.token });
    } else {
      const ctx = `${req.client}:${req.token}`;
      const res = raft.readIndex(ctx);
      if (!res.ok) reply({ kind: 'redirect', client: req.client, token: req.token, leader: res.leader });
      else h.pendingReads.set(ctx, { client: req.client, token: req.token, queue: req.queue, reader: req.reader });
    }
    processReady(h);
  }

  // ------------------------------------------------------------ membership changes

  let confStep = 0;
  function confTick(): void {
    if (!opt.confChanges || rnd() > 0.05) return;
    const leader = [...hosts.values()].find((h) => h.raft?.status().role === 'leader');
    if (!leader?.raft) return;
    const st = leader.raft.status();
    const newcomer = spare[0] as NodeId;
    let cc: ConfChange | null = null;
    if (confStep === 0) cc = { type: 'addLearner', node: newcomer };
    else if (confStep === 1) cc = { type: 'promoteLearner', node: newcomer };
    else if (confStep === 2) cc = { type: 'removeNode', node: pick(st.voters) };
    if (!cc) return;
    if (confStep === 0) {
      const h = hosts.get(newcomer) as SimHost;
      if (!h.raft) start(h);
    }
    const res = leader.raft.proposeConfChange(cc);
    if (res.ok) {
      log(`conf change ${cc.type} ${cc.node} at ${res.index}`);
      stats.confChanges++;
      confStep++;
    }
    processReady(leader);
  }

  // ------------------------------------------------------------ fault injection

  function faults(): void {
    const all = [...hosts.values()].filter((h) => bootstrap.includes(h.id) || h.raft || h.storage.hardState.term > 0);
    if (rnd() < opt.crashRate) {
      const up = all.filter((h) => h.raft);
      if (up.length > 0) crash(pick(up));
    }
    for (const h of all) {
      if (!h.raft && (quickRestart.delete(h.id) || rnd() < opt.restartRate)) {
        start(h);
        log(`${h.id} restarted at term ${h.storage.hardState.term}`);
      }
    }
    if (rnd() < opt.partitionRate) {
      group.clear();
      const kind = rnd();
      const leader = [...hosts.values()].find((h) => h.raft?.status().role === 'leader');
      if (kind < 0.4 && leader) group.set(leader.id, 1);
      else if (kind < 0.7) group.set(pick(members()), 1);
      else for (const id of members()) group.set(id, rnd() < 0.5 ? 1 : 0);
      log(`partition ${JSON.stringify([...group])}`);
    } else if (group.size > 0 && rnd() < opt.healRate) {
      group.clear();
      log('healed');
    }
  }

  function deliver(d: Delivery): void {
    if (d.kind === 'reply') {
      onReply(d.reply);
      return;
    }
    if (d.kind === 'request') {
      onRequest(d.to, d.req);
      return;
    }
    const m = d.msg;
    if ((group.get(m.from) ?? 0) !== (group.get(m.to) ?? 0)) return;
    const h = hosts.get(m.to);
    if (!h?.raft) return;
    h.raft.step(m);
    processReady(h);
  }

  function runTick(chaos: boolean): void {
    now++;
    chaosOn = chaos;
    if (chaos) faults();
    for (const h of hosts.values()) {
      if (!h.raft) continue;
      h.raft.tick();
      processReady(h);
    }
    const due = inflight.get(now) ?? [];
    inflight.delete(now);
    for (const d of due) deliver(d);
    clientTick(chaos);
    if (chaos) confTick();
    if (now % 25 === 0) checkLogMatching();
  }

  function logOf(h: SimHost): Map<number, Entry> {
    const m = new Map<number, Entry>();
    const raft = h.raft;
    if (!raft) return m;
    const st = raft.status();
    for (let i = st.firstIndex; i <= st.lastIndex; i++) {
      const e = raft.entryAt(i);
      if (e) m.set(i, e);
    }
    return m;
  }

  /** Log matching: if two logs hold an entry with the same index and term, all earlier entries are identical. */
  function checkLogMatching(): void {
    const logs = [...hosts.values()].filter((h) => h.raft).map((h) => ({ id: h.id, log: logOf(h) }));
    for (let a = 0; a < logs.length; a++) {
      for (let b = a + 1; b < logs.length; b++) {
        const la = logs[a] as { id: string; log: Map<number, Entry> };
        const lb = logs[b] as { id: string; log: Map<number, Entry> };
        let matched = false;
        const indices = [...la.log.keys()].filter((i) => lb.log.has(i)).sort((x, y) => y - x);
        for (const i of indices) {
          const ea = la.log.get(i) as Entry;
          const eb = lb.log.get(i) as Entry;
          if (ea.term === eb.term) {
            if (ea.data !== eb.data || ea.type !== eb.type) violate(`log matching: ${la.id} and ${lb.id} differ at ${i} with equal term`);
            matched = true;
          } else if (matched) {
            violate(`log matching: ${la.id} and ${lb.id} agree on a later index but differ at ${i}`);
            return;
          }
        }
      }
    }
  }

  try {
    for (let t = 0; t < opt.ticks; t++) runTick(true);

    // healing phase: everything back up, clean network; the cluster must converge
    group.clear();
    loss = 0;
    dup = 0;
    for (const h of hosts.values()) if (!h.raft && (bootstrap.includes(h.id) || h.storage.hardState.term > 0)) start(h);
    let converged = false;
    for (let t = 0; t < 600 && !converged; t++) {
      runTick(false);
      converged = isConverged();
    }
    if (!converged) violate(`no convergence after healing: ${describe()}`);
    else finalChecks();
  } catch (err) {
    violate(`exception: ${(err as Error).stack ?? String(err)}`);
  }
  return { seed, options: opt, violations, stats };

  function isConverged(): boolean {
    const up = [...hosts.values()].filter((h) => h.raft);
    const leaders = up.filter((h) => h.raft?.status().role === 'leader');
    if (leaders.length !== 1) return false;
    const lst = (leaders[0] as SimHost).raft?.status();
    if (!lst || lst.commit !== lst.lastIndex) return false;
    const busy = writers.some((w) => w.op) || readers.some((r) => r.phase !== 'idle');
    if (busy) return false;
    const relevant = up.filter((h) => lst.voters.includes(h.id) || lst.learners.includes(h.id));
    return relevant.every((h) => h.sm.appliedIndex === lst.commit);
  }

  function describe(): string {
    return [...hosts.values()]
      .map((h) => {
        const st = h.raft?.status();
        return st ? `${h.id}:${st.role}/t${st.term}/c${st.commit}/l${st.lastIndex}/a${h.sm.appliedIndex}` : `${h.id}:down`;
      })
      .join(' ') + ` writers=${writers.map((w) => (w.op ? 'busy' : 'idle')).join(',')}`;
  }

  function finalChecks(): void {
    const leader = [...hosts.values()].find((h) => h.raft?.status().role === 'leader') as SimHost;
    const lst = (leader.raft as RaftNode).status();
    stats.finalCommit = lst.commit;
    const members = [...hosts.values()].filter((h) => h.raft && (lst.voters.includes(h.id) || lst.learners.includes(h.id)));
    const image = leader.sm.snapshot();
    for (const h of members) {
      if (h.sm.snapshot() !== image) violate(`replica ${h.id} state differs from leader ${leader.id}`);
    }
    const sm = leader.sm;
    // no acknowledged append lost, each (queue, seq) one payload
    for (const a of acked) {
      const got = sm.message(a.queue, a.seq);
      if (got !== a.data) violate(`acknowledged append lost: ${a.queue}#${a.seq} = ${a.data}, found ${String(got)}`);
    }
    // no duplicates, gap-free seqs
    for (const q of sm.queueNames()) {
      const seen = new Set<string>();
      for (let s = 1; s <= sm.lastSeq(q); s++) {
        const d = sm.message(q, s);
        if (d === undefined) violate(`gap in ${q} at ${s}`);
        else if (seen.has(d)) violate(`duplicate payload ${d} in ${q} (seq ${s})`);
        else seen.add(d);
        const obs = payloadAt.get(`${q}#${s}`);
        if (obs !== undefined && obs !== d) violate(`${q}#${s} final ${String(d)} but observed ${obs}`);
      }
      for (const [reader, pos] of sm.readers(q)) {
        const r = readers.find((x) => x.id === reader);
        if (pos > sm.lastSeq(q)) violate(`reader ${reader} position ${pos} beyond ${q} end`);
        if (r && pos < r.ackedPos) violate(`reader ${reader} position ${pos} below acknowledged ${r.ackedPos}`);
      }
    }
    checkLogMatching();
  }
}

// CLI: replay one seed with a trace
const argv = process.argv.slice(2);
if (argv.includes('--seed') && process.argv[1]?.endsWith('sim.ts')) {
  const seed = Number(argv[argv.indexOf('--seed') + 1]);
  const report = runSim(seed, { verbose: argv.includes('--verbose') });
  console.log(JSON.stringify({ seed, options: report.options, stats: report.stats, violations: report.violations }, null, 2));
  process.exitCode = report.violations.length > 0 ? 1 : 0;
}
