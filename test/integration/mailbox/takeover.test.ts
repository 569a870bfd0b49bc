// Issue 10, findings 1 and 2, from the attacker's side against real `parley mailbox node` processes:
// nobody without the cluster key changes the membership, forges a broker link, or installs a
// snapshot; key holders that aren't the leader can't install one either; every refusal is counted.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailboxClient } from '../../../src/server/mailbox/client';
import { QueueMachine } from '../../../src/server/mailbox/state-machine';
import { encodeFrame } from '../../../src/server/mailbox/framing';
import { TestCluster, freePort, sleep, waitFor } from './cluster';
import { RawConn } from './raw-conn';

const BIN = 'bin/parley.mjs';

function runCli(args: string[], timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: join(import.meta.dirname, '../../..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A queue-state image in which box:victim holds the attacker's message. */
function forgedImage(): string {
  const m = new QueueMachine();
  const create = m.encode({ op: 'CREATE_QUEUE', queue: 'box:victim' });
  const append = m.encode({ op: 'APPEND', queue: 'box:victim', data: 'FORGED', reqId: 'evil', clientId: 'evil' });
  if (!create.ok || !append.ok) throw new Error('cannot encode the forged commands');
  m.apply({ term: 1, index: 1, type: 'command', data: create.data });
  m.apply({ term: 1, index: 2, type: 'command', data: append.data });
  return m.snapshot();
}

describe('mailbox cluster: takeover attempts without the cluster key', () => {
  let cluster: TestCluster;
  let client: MailboxClient;
  let leader: string;
  const ids = ['n1', 'n2', 'n3'];

  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
    client = new MailboxClient({ seeds: cluster.seeds, clusterId: cluster.clusterId });
    await client.create('box:victim');
    await client.append('box:victim', 'genuine');
    leader = await cluster.leader(client);
  });

  afterAll(async () => {
    client?.close();
    await cluster?.stop();
  });

  const rejects = async (id: string): Promise<Record<string, number>> => (await client.stats(cluster.addr(id))).rejects;

  it('refuses LEAVE_CLUSTER and JOIN_CLUSTER from a client without proof of the key, and counts them', async () => {
    const before = await rejects(leader);
    const conn = await RawConn.open(cluster.addr(leader));
    const followers = ids.filter((id) => id !== leader);
    conn.send({ op: 'LEAVE_CLUSTER', corr: 1, nodeId: followers[0] });
    conn.send({ op: 'LEAVE_CLUSTER', corr: 2, nodeId: followers[1] });
    const evil = `127.0.0.1:${await freePort()}`;
    conn.send({ op: 'JOIN_CLUSTER', corr: 3, nodeId: 'evil', addr: evil });
    // a made-up proof
    conn.send({ op: 'LEAVE_CLUSTER', corr: 4, nodeId: followers[0], auth: { ts: Date.now(), nonce: randomBytes(16).toString('hex'), mac: randomBytes(32).toString('hex') } });
    const replies = await conn.next(4);
    conn.close();
    for (const r of replies) {
      expect(r).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
      expect(String(r.reason)).toMatch(/cluster key/);
    }
    await sleep(3000); // the outsider was a voter within 3 s before the fix
    const info = await client.cluster();
    expect(info.members.map((m) => `${m.id}:${m.role}`).sort()).toEqual(['n1:voter', 'n2:voter', 'n3:voter']);
    const after = await rejects(leader);
    expect((after.UNAUTHENTICATED ?? 0) - (before.UNAUTHENTICATED ?? 0)).toBe(4);
    // and the cluster still replicates
    expect((await client.append('box:victim', 'after-membership-attack')).seq).toBeGreaterThan(1);
  });

  it('forged PEER_HELLOs claiming members neither take over a link nor install a made-up snapshot', async () => {
    const termBefore = Math.max(...(await Promise.all(ids.map(async (id) => (await client.stats(cluster.addr(id))).term))));
    const before = Object.fromEntries(await Promise.all(ids.map(async (id) => [id, await rejects(id)] as const)));
    const image = forgedImage();
    const forgedTerm = termBefore + 100;
    const snapshot = { index: 1_000_000, term: forgedTerm, voters: ids, learners: [], data: image };
    const claimFor = (target: string): string => (target === leader ? ids.find((id) => id !== leader)! : leader);
    const conns: RawConn[] = [];
    // The pre-fix handshake: a bare hello claiming the leader (or, at the leader, a follower), then
    // a higher-term heartbeat and a made-up snapshot.
    for (const target of ids) {
      const claim = claimFor(target);
      const bare = await RawConn.open(cluster.addr(target));
      bare.send({ type: 'PEER_HELLO', clusterId: cluster.clusterId, from: claim, to: target, addr: null });
      bare.send({ type: 'HEARTBEAT', clusterId: cluster.clusterId, from: claim, to: target, term: forgedTerm, commit: 0, ctx: '' });
      bare.send({ type: 'DATA_SYNC_REQUEST', clusterId: cluster.clusterId, from: claim, to: target, term: forgedTerm, snapshot });
      conns.push(bare);
      // Raft frames without any hello on a fresh connection.
      const none = await RawConn.open(cluster.addr(target));
      none.send({ type: 'DATA_SYNC_REQUEST', clusterId: cluster.clusterId, from: claim, to: target, term: forgedTerm, snapshot });
      conns.push(none);
    }
    await sleep(3000);
    const checkIntact = async (): Promise<void> => {
      // Nobody adopted the forged term, and reads return the genuine data.
      for (const id of ids) expect((await client.stats(cluster.addr(id))).term).toBeLessThan(forgedTerm);
      const read = await client.read('box:victim', `reader-${Date.now()}`);
      expect(read).toEqual({ seq: 1, data: 'genuine' });
      expect((await client.append('box:victim', 'after-link-attack')).seq).toBeGreaterThan(1);
    };
    await checkIntact();

    // The new handshake with a guessed key: the node proves its key, the attacker can't.
    for (const target of ids) {
      const claim = claimFor(target);
      const guess = await RawConn.open(cluster.addr(target));
      guess.send({ type: 'PEER_HELLO', clusterId: cluster.clusterId, from: claim, to: target, addr: null, nonce: randomBytes(16).toString('hex') });
      const [challenge] = await guess.next(1);
      expect(challenge).toMatchObject({ type: 'PEER_CHALLENGE', from: target, to: claim });
      guess.send({ type: 'PEER_AUTH', mac: randomBytes(32).toString('hex') });
      guess.send({ type: 'DATA_SYNC_REQUEST', clusterId: cluster.clusterId, from: claim, to: target, term: forgedTerm, snapshot });
      const [refusal] = await guess.next(1);
      expect(refusal).toMatchObject({ type: 'REJECT', code: 'UNAUTHENTICATED' });
      await waitFor('the node closed the unproven link', () => guess.closed, 10_000, 50);
      conns.push(guess);
    }
    for (const c of conns) c.close();
    await sleep(500);
    await checkIntact();

    // Each node counted: the bare hello (SCHEMA: no nonce), the hello-less frame, the bad PEER_AUTH.
    for (const id of ids) {
      const after = await rejects(id);
      const delta = (code: string): number => (after[code] ?? 0) - (before[id]![code] ?? 0);
      expect(delta('SCHEMA'), `${id} SCHEMA`).toBeGreaterThanOrEqual(1);
      expect(delta('UNAUTHENTICATED'), `${id} UNAUTHENTICATED`).toBeGreaterThanOrEqual(2);
    }
    // and wrote the refusal into its event log
    for (const id of ids) expect(cluster.events(id).some((e) => e.event === 'refused' && /UNAUTHENTICATED/.test(e.detail ?? ''))).toBe(true);
  });

  it('a key holder that is not the leader cannot install a snapshot; a frame with a bad MAC closes the link', async () => {
    leader = await cluster.leader(client);
    const [victim, impostor] = ids.filter((id) => id !== leader) as [string, string];
    const st = await client.stats(cluster.addr(victim));
    const before = st.rejects;
    const image = forgedImage();
    const conn = await RawConn.peer(cluster.addr(victim), { key: cluster.key, clusterId: cluster.clusterId, from: impostor, to: victim });
    for (const term of [st.term, st.term + 100]) {
      conn.send({ type: 'DATA_SYNC_REQUEST', clusterId: cluster.clusterId, from: impostor, to: victim, term, snapshot: { index: 1_000_000, term, voters: ids, learners: [], data: image } });
    }
    const replies = await conn.next(2);
    expect(replies.map((r) => [r.type, r.code])).toEqual([
      ['REJECT', 'NOT_LEADER'],
      ['REJECT', 'NOT_LEADER'],
    ]);
    // An unsealed frame on the authenticated link: refused, counted, link dropped.
    conn.sendRaw(encodeFrame({ type: 'HEARTBEAT', clusterId: cluster.clusterId, from: impostor, to: victim, term: st.term, commit: 0, ctx: '' }));
    await waitFor('link closed after a bad MAC', () => conn.closed, 10_000, 50);
    const after = (await client.stats(cluster.addr(victim))).rejects;
    expect((after.NOT_LEADER ?? 0) - (before.NOT_LEADER ?? 0)).toBe(2);
    expect((after.BAD_MAC ?? 0) - (before.BAD_MAC ?? 0)).toBe(1);
    // The real link heals and the data is the genuine data.
    await waitFor('appends after the impostor link', async () => (await client.append('box:victim', 'after-impostor')).seq > 0, 30_000, 200);
    expect(await client.read('box:victim', `reader2-${Date.now()}`)).toEqual({ seq: 1, data: 'genuine' });
  });

  it('an operator with the key can remove and a node with the key can join (proofs work end to end)', async () => {
    const operator = cluster.operator();
    try {
      await cluster.addSpec('n4');
      await cluster.startNode('n4', ['--join', cluster.seeds.slice(0, 3).join(',')]);
      await waitFor('n4 joined', async () => (await operator.cluster()).members.some((m) => m.id === 'n4'), 45_000, 200);
      await waitFor('n4 promoted', async () => (await operator.cluster()).members.some((m) => m.id === 'n4' && m.role === 'voter'), 45_000, 200);
      await operator.removeNode('n4');
      await waitFor('n4 removed', async () => !(await operator.cluster()).members.some((m) => m.id === 'n4'), 30_000, 200);
    } finally {
      operator.close();
      await cluster.kill('n4');
    }
  });
});

describe('mailbox node: --cluster-key at the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-mailbox-key-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists --cluster-key in --help', async () => {
    const r = await runCli(['mailbox', 'node', '--help']);
    expect(r.stdout).toMatch(/--cluster-key <file>/);
    expect(r.stdout).toMatch(/openssl rand -hex 32/);
  });

  it('refuses to start a multi-node cluster without a key, naming the flag', async () => {
    const port = await freePort();
    const r = await runCli(['mailbox', 'node', '--id', 'n1', '--port', String(port), '--data', join(dir, 'nokey'), '--peers', `n2@127.0.0.1:${await freePort()}`]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toMatch(/"ready"/);
    expect(r.stderr).toMatch(/--cluster-key/);
  });

  it('says what is wrong with a bad key file', async () => {
    const cases: Array<[string, RegExp]> = [
      ['abc\n', /3 hex characters, not 64/],
      ['zz' + 'a'.repeat(62) + '\n', /non-hex character \("z"\) at position 1/],
      ['', /empty/],
    ];
    for (const [text, message] of cases) {
      const file = join(dir, `bad-${randomBytes(4).toString('hex')}.key`);
      writeFileSync(file, text);
      const r = await runCli(['mailbox', 'node', '--id', 'n1', '--port', '0', '--data', join(dir, 'badkey'), '--cluster-key', file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--cluster-key/);
      expect(r.stderr).toMatch(message);
    }
    const missing = await runCli(['mailbox', 'node', '--id', 'n1', '--port', '0', '--data', join(dir, 'badkey'), '--cluster-key', join(dir, 'nope.key')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/ENOENT/);
  });
});

describe('a keyless one-node mailbox', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 1, noKey: true });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('serves clients but refuses every membership change and every broker link', async () => {
    const client = new MailboxClient({ seeds: cluster.seeds, clusterId: cluster.clusterId });
    try {
      await client.create('box:solo');
      expect((await client.append('box:solo', 'x')).seq).toBe(1);
      const conn = await RawConn.open(cluster.seeds[0]!);
      conn.send({ op: 'JOIN_CLUSTER', corr: 1, nodeId: 'evil', addr: `127.0.0.1:${await freePort()}` });
      conn.send({ op: 'LEAVE_CLUSTER', corr: 2, nodeId: 'n1' });
      const replies = await conn.next(2);
      conn.close();
      for (const r of replies) expect(r).toMatchObject({ ok: false, code: 'FORBIDDEN' });
      const peer = await RawConn.open(cluster.seeds[0]!);
      peer.send({ type: 'PEER_HELLO', clusterId: cluster.clusterId, from: 'n0', to: 'n1', addr: null, nonce: randomBytes(16).toString('hex') });
      const [refusal] = await peer.next(1);
      expect(refusal).toMatchObject({ type: 'REJECT', code: 'FORBIDDEN' });
      peer.close();
      await sleep(500);
      const info = await client.cluster();
      expect(info.members.map((m) => m.id)).toEqual(['n1']);
      expect((await client.stats(cluster.seeds[0]!)).rejects.FORBIDDEN).toBe(3);
    } finally {
      client.close();
    }
  });
});
