// inbox:{userId} from the attacker's side, against a real node process (DESIGN section 7): anyone
// may deposit (signed, rate- and size-capped); only the owner may READ or ACK. Every refusal is
// counted in STATS and nothing the owner is owed is lost.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailboxClient, MailboxError } from '../../../src/server/mailbox/client';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { generateIdentity, type Identity } from '../../../src/shared/identity';
import { inboxQueue, signInboxOp } from '../../../src/shared/mailbox-auth';
import { MAX_DATA_CHARS } from '../../../src/shared/schemas/mailbox';
import { TestCluster, waitFor } from './cluster';

const carol = generateIdentity();
const alice = generateIdentity();
const mallory = generateIdentity();
const inbox = inboxQueue(carol.userId);

function deposit(c: MailboxClient, who: Identity, queue: string, data: string, reqId: string): Promise<{ seq: number }> {
  return c.append(queue, data, reqId, { auth: signInboxOp({ op: 'APPEND', queue, reqId, data }, who, nodeSigner) });
}
function read(c: MailboxClient, who: Identity, queue: string, clientId: string, ts?: number) {
  return c.read(queue, clientId, signInboxOp({ op: 'READ', queue, clientId }, who, nodeSigner, ts));
}
function ack(c: MailboxClient, who: Identity, queue: string, clientId: string, seq: number) {
  return c.ack(queue, clientId, seq, signInboxOp({ op: 'ACK', queue, clientId, seq }, who, nodeSigner));
}
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof MailboxError) return err.code;
    throw err;
  }
  return 'ACCEPTED';
}
function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

describe('mailbox inbox authorization (real node)', () => {
  let cluster: TestCluster;
  let client: MailboxClient;
  let addr: string;
  const rejects = async (): Promise<Record<string, number>> => (await client.stats(addr)).rejects;

  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 1, nodeArgs: ['--inbox-rate', '5', '--inbox-burst', '20', '--inbox-max-messages', '100'] });
    client = new MailboxClient({ seeds: cluster.seeds, clusterId: cluster.clusterId, timeoutMs: 10_000 });
    addr = cluster.addr(await cluster.leader(client));
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await cluster?.stop();
  });

  it('anyone deposits (creating the inbox on first use); the owner reads and ACKs from its own position', async () => {
    expect(await deposit(client, alice, inbox, 'sealed-1', 'a1')).toEqual({ seq: 1, reqId: 'a1' });
    expect(await deposit(client, alice, inbox, 'sealed-2', 'a2')).toMatchObject({ seq: 2 });
    // a replayed deposit (same reqId, same depositor) is the same deposit
    expect(await deposit(client, alice, inbox, 'sealed-1', 'a1')).toMatchObject({ seq: 1 });
    expect(await read(client, carol, inbox, 'phone')).toEqual({ seq: 1, data: 'sealed-1' });
    await ack(client, carol, inbox, 'phone', 1);
    expect(await read(client, carol, inbox, 'phone')).toEqual({ seq: 2, data: 'sealed-2' });
    expect(await read(client, carol, inbox, 'laptop')).toEqual({ seq: 1, data: 'sealed-1' });
  });

  it('READ or ACK of another user\'s inbox is refused and counted; unsigned, stale and forged ones too; nothing is lost', async () => {
    const before = (await rejects()).UNAUTHORIZED ?? 0;
    const codes = [
      await refusal(read(client, mallory, inbox, 'phone')), // signed, but not by the owner
      await refusal(ack(client, mallory, inbox, 'phone', 2)),
      await refusal(ack(client, mallory, inbox, 'laptop', 1)),
      await refusal(client.ack(inbox, 'phone', 2)), // unsigned
      await refusal(client.read(inbox, 'phone')),
      await refusal(read(client, carol, inbox, 'phone', Date.now() - 10 * 60_000)), // stale
      // claims to be Carol, signed by Mallory
      await refusal(client.ack(inbox, 'phone', 2, { ...signInboxOp({ op: 'ACK', queue: inbox, clientId: 'phone', seq: 2 }, mallory, nodeSigner), by: carol.userId })),
      // Carol's signature for one seq replayed for another
      await refusal(client.ack(inbox, 'phone', 2, signInboxOp({ op: 'ACK', queue: inbox, clientId: 'phone', seq: 1 }, carol, nodeSigner))),
      // deposits must be signed too
      await refusal(client.append(inbox, 'unsigned', 'u1')),
      // a malformed name under the inbox prefix is not a generic queue
      await refusal(client.append('inbox:not-a-user', 'x', 'u2')),
    ];
    expect(codes).toEqual([...Array(9).fill('UNAUTHORIZED'), 'SCHEMA']);
    expect(((await rejects()).UNAUTHORIZED ?? 0) - before).toBe(9);
    // Carol's positions did not move: phone still owes seq 2, laptop seq 1
    expect(await read(client, carol, inbox, 'phone')).toEqual({ seq: 2, data: 'sealed-2' });
    expect(await read(client, carol, inbox, 'laptop')).toEqual({ seq: 1, data: 'sealed-1' });
  });

  it('an oversize sealed body is refused (OVERSIZE, counted) and nothing is appended', async () => {
    const other = inboxQueue(generateIdentity().userId);
    const before = (await rejects()).OVERSIZE ?? 0;
    const big = 'A'.repeat(MAX_DATA_CHARS + 1);
    expect(await refusal(deposit(client, alice, other, big, 'big'))).toBe('OVERSIZE');
    expect((await rejects()).OVERSIZE ?? 0).toBe(before + 1);
    const owner = generateIdentity();
    const q = inboxQueue(owner.userId);
    expect(await refusal(deposit(client, alice, q, big, 'big2'))).toBe('OVERSIZE');
    // the inbox was not even created by the refused deposit
    expect(await refusal(read(client, owner, q, 'd'))).toBe('NO_QUEUE');
  });

  it('a deposit flood from one identity is rate-limited and counted while another depositor is served; memory stays flat', async () => {
    const victim = generateIdentity();
    const q = inboxQueue(victim.userId);
    const pid = cluster.procs.get('n1')!.pid!;
    const rssBefore = rssKb(pid);
    const before = (await rejects()).RATE_LIMITED ?? 0;
    const flood = new MailboxClient({ seeds: cluster.seeds, clusterId: cluster.clusterId, timeoutMs: 10_000 });
    const payload = 'F'.repeat(30_000);
    const started = Date.now();
    const flooding = Promise.all(Array.from({ length: 400 }, (_, i) => refusal(deposit(flood, mallory, q, payload, `f${i}`))));
    // a legitimate depositor is served meanwhile, in order
    for (let i = 0; i < 5; i++) await deposit(client, alice, q, `legit-${i}`, `l${i}`);
    const results = await flooding;
    const floodSeconds = (Date.now() - started) / 1000;
    flood.close();
    const limited = results.filter((r) => r === 'RATE_LIMITED').length;
    const accepted = results.filter((r) => r === 'ACCEPTED').length;
    expect(accepted + limited).toBe(400);
    // burst 20 plus 5/s refilled while the flood ran (its duration, not a fixed figure)
    expect(accepted).toBeLessThanOrEqual(20 + Math.ceil(5 * floodSeconds) + 1);
    expect(((await rejects()).RATE_LIMITED ?? 0) - before).toBe(limited);
    const got: string[] = [];
    for (;;) {
      const r = await read(client, victim, q, 'dev');
      if ('empty' in r) break;
      got.push(r.data);
      await ack(client, victim, q, 'dev', r.seq);
    }
    expect(got.filter((d) => d.startsWith('legit-'))).toEqual(['legit-0', 'legit-1', 'legit-2', 'legit-3', 'legit-4']);
    expect(rssKb(pid) - rssBefore).toBeLessThan(100 * 1024);
  }, 60_000);

  it('many depositors cannot grow one inbox past its cap (QUEUE_FULL, counted); the owner still reads everything held', async () => {
    const owner = generateIdentity();
    const q = inboxQueue(owner.userId);
    const before = (await rejects()).QUEUE_FULL ?? 0;
    const results: string[] = [];
    for (let i = 0; i < 110; i++) results.push(await refusal(deposit(client, generateIdentity(), q, `m${i}`, `r${i}`)));
    expect(results.filter((r) => r === 'ACCEPTED').length).toBe(100);
    expect(results.slice(100)).toEqual(Array(10).fill('QUEUE_FULL'));
    expect(((await rejects()).QUEUE_FULL ?? 0) - before).toBe(10);
    expect(await read(client, owner, q, 'd')).toEqual({ seq: 1, data: 'm0' });
  }, 60_000);
});

describe('mailbox inbox expiry (real node)', () => {
  let cluster: TestCluster;
  let client: MailboxClient;
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3, nodeArgs: ['--inbox-ttl-ms', '3000'] });
    client = new MailboxClient({ seeds: cluster.seeds, clusterId: cluster.clusterId, timeoutMs: 15_000 });
    await cluster.leader(client);
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await cluster?.stop();
  });

  it('an expired deposit leaves the inbox through the log: a new leader agrees, and sequence numbers keep counting', async () => {
    const owner = generateIdentity();
    const q = inboxQueue(owner.userId);
    expect(await deposit(client, alice, q, 'old-1', 'o1')).toMatchObject({ seq: 1 });
    expect(await deposit(client, alice, q, 'old-2', 'o2')).toMatchObject({ seq: 2 });
    await waitFor('expiry', async () => 'empty' in (await read(client, owner, q, 'd')), 30_000, 200);
    // the leader goes away; the replica that takes over applied the same EXPIRE
    await cluster.kill(await cluster.leader(client), 'SIGKILL');
    expect(await read(client, owner, q, 'd')).toEqual({ empty: true });
    expect(await deposit(client, alice, q, 'new', 'n1')).toMatchObject({ seq: 3 });
    expect(await read(client, owner, q, 'd')).toEqual({ seq: 3, data: 'new' });
    await ack(client, owner, q, 'd', 3);
    expect(await read(client, owner, q, 'd')).toEqual({ empty: true });
  }, 60_000);
});
