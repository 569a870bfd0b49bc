// Issue 8 part 1, the user's story with real processes: headless peers (`parley peer`), a real
// broker and real mailbox nodes (`parley mailbox node`). Alice writes while Carol is offline and
// quits; Carol starts with Alice still offline and gets everything once, in order, from the
// mailbox; Alice sees `stored`, then `delivered` once she is back and gets Carol's ACKs.
// Also: an online contact no direct attempt reaches gets the messages through the mailbox.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openBroker, type TestBroker } from '../../helpers/brokers';
import { befriend, eventually, HeadlessPeer, messagesWith, tempProfile, waitConnected, type Line } from '../../helpers/headless-peer';
import { TestCluster } from '../mailbox/cluster';
import { MailboxClient, MailboxError } from '../../../src/server/mailbox/client';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { sealTo } from '../../../src/shared/box';
import { utf8 } from '../../../src/shared/encoding';
import { encodeEnvelope, signEnvelope } from '../../../src/shared/envelope';
import { generateIdentity } from '../../../src/shared/identity';
import { inboxQueue, signInboxOp } from '../../../src/shared/mailbox-auth';

type Msg = { id: string; from: string; text: string; status: string };

describe('offline inbox through the mailbox cluster', () => {
  let broker: TestBroker;
  let cluster: TestCluster;
  const peers: HeadlessPeer[] = [];

  beforeAll(async () => {
    broker = await openBroker('embedded');
    cluster = await TestCluster.start({ size: 1 });
  }, 60_000);
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.quit()));
  });
  afterAll(async () => {
    await cluster?.stop();
    await broker?.close();
  });

  const start = async (profile: string, name: string, mailboxSeeds = cluster.seeds, extra: string[] = [], env: Record<string, string> = {}): Promise<HeadlessPeer> => {
    const p = await HeadlessPeer.start({ profile, name, broker: broker.url, env, extraArgs: ['--mailbox', mailboxSeeds.join(','), '--mailbox-poll-ms', '2000', ...extra] });
    peers.push(p);
    return p;
  };
  const stop = async (p: HeadlessPeer, how: 'quit' | 'kill' = 'quit'): Promise<void> => {
    peers.splice(peers.indexOf(p), 1);
    if (how === 'kill') await p.kill('SIGKILL');
    else await p.quit();
  };
  const texts = (n: number, tag: string): string[] => Array.from({ length: n }, (_, i) => `${tag} ${String(i).padStart(2, '0')}`);

  async function allStored(a: HeadlessPeer, other: string, n: number): Promise<Msg[]> {
    return eventually(() => messagesWith(a, other), (ms) => ms.filter((m) => m.from === a.userId && m.status === 'stored').length === n, 60_000);
  }

  function expectShownOnce(c: HeadlessPeer, from: string, want: string[], got: Msg[]): void {
    expect(got.filter((m) => m.from === from).map((m) => m.text)).toEqual(want);
    expect(new Set(got.map((m) => m.id)).size).toBe(got.length);
    const shown = c.lines.filter((l: Line) => l.event === 'message' && l.from === from).map((l) => l.id);
    expect(shown.length).toBe(want.length);
    expect(new Set(shown).size).toBe(want.length);
  }

  it('the story: 20 messages while Carol is offline, Alice quits; Carol starts alone and gets all 20 once, in order; Alice goes stored → delivered', async () => {
    const profileA = tempProfile('alice');
    const profileC = tempProfile('carol');
    let alice = await start(profileA, 'alice');
    let carol = await start(profileC, 'carol');
    await befriend(alice, carol);
    await stop(carol);

    const want = texts(20, 'while you were away');
    for (const text of want) await alice.ok({ op: 'send', to: carol.userId, text });
    const stored = await allStored(alice, carol.userId, 20);
    expect(stored.map((m) => m.text)).toEqual(want);
    // the `status` event said so too, in words the UI shows
    expect(alice.lines.filter((l) => l.event === 'status' && l.status === 'stored').length).toBe(20);
    await stop(alice);

    carol = await start(profileC, 'carol');
    const got = await eventually(() => messagesWith(carol, alice.userId), (ms) => ms.length >= 20, 60_000);
    expectShownOnce(carol, alice.userId, want, got);
    expect(got.every((m) => m.status === 'delivered')).toBe(true);
    // Carol's device ACKed every entry: her position is at the end of her inbox
    expect((await carol.ok({ op: 'stats' })).rejected).not.toHaveProperty('mailbox:DECRYPT_FAILED');

    // Alice comes back: the channel opens, she sends the stored ones once more, Carol ACKs them
    const before = carol.lines.length;
    alice = await start(profileA, 'alice');
    await waitConnected(carol, alice.userId, 90_000, before);
    const delivered = await eventually(() => messagesWith(alice, carol.userId), (ms) => ms.filter((m) => m.status === 'delivered').length === 20, 90_000);
    expect(delivered.map((m) => m.text)).toEqual(want);
    // still shown once on Carol's side, although each arrived twice (mailbox, then direct)
    expectShownOnce(carol, alice.userId, want, await messagesWith(carol, alice.userId));
  }, 240_000);

  it('Alice killed with kill -9 right after a send returned: her restart deposits it, Carol gets everything once', async () => {
    const profileA = tempProfile('alice');
    const profileC = tempProfile('carol');
    let alice = await start(profileA, 'alice');
    let carol = await start(profileC, 'carol');
    await befriend(alice, carol);
    await stop(carol);

    const want = texts(5, 'before the crash');
    for (const text of want) await alice.ok({ op: 'send', to: carol.userId, text });
    await stop(alice, 'kill'); // the sends are on disk (pending); nothing was deposited yet
    alice = await start(profileA, 'alice');
    await allStored(alice, carol.userId, 5);
    await stop(alice, 'kill');

    carol = await start(profileC, 'carol');
    const got = await eventually(() => messagesWith(carol, alice.userId), (ms) => ms.length >= 5, 60_000);
    expectShownOnce(carol, alice.userId, want, got);
  }, 180_000);

  it('hostile: junk and non-contact deposits are counted and skipped, a stranger can neither read nor ACK Carol\'s inbox; Alice\'s messages all arrive', async () => {
    const profileC = tempProfile('carol');
    const alice = await start(tempProfile('alice'), 'alice');
    let carol = await start(profileC, 'carol');
    await befriend(alice, carol);
    const { deviceId } = await carol.ok({ op: 'whoami' });
    await stop(carol);

    const mallory = generateIdentity();
    const inbox = inboxQueue(carol.userId);
    const m = new MailboxClient({ seeds: cluster.seeds, clusterId: cluster.clusterId, timeoutMs: 10_000 });
    const deposit = (data: string, reqId: string) => m.append(inbox, data, reqId, { auth: signInboxOp({ op: 'APPEND', queue: inbox, reqId, data }, mallory, nodeSigner) });
    const fromMallory = signEnvelope({ type: 'CHAT_MESSAGE', to: carol.userId, body: { text: 'click this link' } }, mallory, nodeSigner);
    await deposit(JSON.stringify({ v: 1, from: mallory.userId, sealed: sealTo(carol.userId, utf8(encodeEnvelope(fromMallory)), mallory) }), 'x1');
    await deposit('not json at all', 'x2');
    // claims to come from Alice, but Mallory sealed it: it does not open with Alice's key
    await deposit(JSON.stringify({ v: 1, from: alice.userId, sealed: sealTo(carol.userId, utf8(encodeEnvelope(fromMallory)), mallory) }), 'x3');

    const want = texts(3, 'among the junk');
    for (const text of want) await alice.ok({ op: 'send', to: carol.userId, text });
    await allStored(alice, carol.userId, 3);

    // Mallory tries to make Carol lose mail: READ and ACK her inbox at her device's position
    const refused: string[] = [];
    for (const attempt of [
      () => m.read(inbox, String(deviceId), signInboxOp({ op: 'READ', queue: inbox, clientId: String(deviceId) }, mallory, nodeSigner)),
      ...[1, 2, 3, 4, 5, 6].map((seq) => () => m.ack(inbox, String(deviceId), seq, signInboxOp({ op: 'ACK', queue: inbox, clientId: String(deviceId), seq }, mallory, nodeSigner))),
    ]) {
      try {
        await attempt();
        refused.push('ACCEPTED');
      } catch (err) {
        refused.push(err instanceof MailboxError ? err.code : String(err));
      }
    }
    expect(refused).toEqual(Array(7).fill('UNAUTHORIZED'));
    const leaderStats = await m.stats(cluster.seeds[0]!);
    expect(leaderStats.rejects.UNAUTHORIZED ?? 0).toBeGreaterThanOrEqual(7);
    m.close();

    carol = await start(profileC, 'carol');
    const got = await eventually(() => messagesWith(carol, alice.userId), (ms) => ms.length >= 3, 60_000);
    expectShownOnce(carol, alice.userId, want, got);
    expect(await messagesWith(carol, mallory.userId)).toEqual([]);
    const rejected = await eventually(
      async () => (await carol.ok({ op: 'stats' })).rejected as Record<string, number>,
      (r) => (r['mailbox:UNAUTHORIZED'] ?? 0) >= 1 && (r['mailbox:BAD_JSON'] ?? 0) >= 1 && (r['mailbox:DECRYPT_FAILED'] ?? 0) >= 1,
      30_000,
    );
    expect(rejected['mailbox:UNAUTHORIZED']).toBe(1);
    expect(rejected['mailbox:BAD_JSON']).toBe(1);
    expect(rejected['mailbox:DECRYPT_FAILED']).toBe(1);
    expect(carol.lines.filter((l) => l.event === 'message').length).toBe(3);
  }, 180_000);

  it('Carol with two devices (one identity, two profiles): each device gets every message once', async () => {
    const profileA = tempProfile('alice');
    const profileC1 = tempProfile('carol-phone');
    const profileC2 = tempProfile('carol-laptop');
    const alice = await start(profileA, 'alice');
    let phone = await start(profileC1, 'carol');
    // the laptop takes the phone's identity (an identity export), with a device id of its own
    const key = JSON.parse(readFileSync(join(profileC1, 'identity.key'), 'utf8')) as { secretKey: string };
    const exportFile = join(profileC1, 'export.json');
    writeFileSync(exportFile, JSON.stringify({ parleyIdentity: 1, secretKey: key.secretKey }));
    let laptop = await start(profileC2, 'carol', cluster.seeds, ['--import-identity', exportFile]);
    expect(laptop.userId).toBe(phone.userId);
    const whoPhone = await phone.ok({ op: 'whoami' });
    const whoLaptop = await laptop.ok({ op: 'whoami' });
    expect(whoLaptop.deviceId).not.toBe(whoPhone.deviceId);

    await Promise.all([alice.signalingUp(), phone.signalingUp(), laptop.signalingUp()]);
    await alice.ok({ op: 'contact.add', userId: phone.userId, name: 'carol' });
    await phone.waitFor((l) => l.event === 'contactRequest' && l.userId === alice.userId);
    await laptop.waitFor((l) => l.event === 'contactRequest' && l.userId === alice.userId);
    await phone.ok({ op: 'contact.accept', userId: alice.userId });
    await laptop.ok({ op: 'contact.accept', userId: alice.userId });
    await alice.waitFor((l) => l.event === 'contactAccepted');
    await stop(phone);
    await stop(laptop);
    await eventually(() => alice.ok({ op: 'contacts' }), (r) => (r.contacts as { presence: string }[])[0]?.presence === 'offline', 60_000);

    const want = texts(12, 'to both devices');
    for (const text of want) await alice.ok({ op: 'send', to: phone.userId, text });
    await allStored(alice, phone.userId, 12);
    await stop(alice);

    phone = await start(profileC1, 'carol');
    laptop = await start(profileC2, 'carol');
    for (const device of [phone, laptop]) {
      const got = await eventually(() => messagesWith(device, alice.userId), (ms) => ms.length >= 12, 60_000);
      expectShownOnce(device, alice.userId, want, got);
    }
  }, 240_000);

  // Online but unreachable directly (every ICE candidate between the two is dropped), no relay:
  // stored once an attempt has failed, while the mesh still retries (RECONNECTING), not only
  // after it gives up (FAILED, about 100 s later).
  it('an online contact with no direct path and no relay gets the messages through the mailbox while the direct attempts are still retried', async () => {
    const dir = tempProfile('no-path');
    const blockA = join(dir, 'a.block');
    const blockC = join(dir, 'c.block');
    writeFileSync(blockA, '');
    writeFileSync(blockC, '');
    const [a, c] = await Promise.all([
      start(tempProfile('no-path-a'), 'alice', cluster.seeds, [], { PARLEY_TEST_ICE_BLOCK_FILE: blockA }),
      start(tempProfile('no-path-c'), 'carol', cluster.seeds, [], { PARLEY_TEST_ICE_BLOCK_FILE: blockC }),
    ]);
    writeFileSync(blockA, `${c.userId}\n`);
    writeFileSync(blockC, `${a.userId}\n`);
    await Promise.all([a.signalingUp(), c.signalingUp()]);
    await a.ok({ op: 'contact.add', userId: c.userId, name: 'carol' });
    await c.waitFor((l) => l.event === 'contactRequest' && l.userId === a.userId, 60_000);
    await c.ok({ op: 'contact.accept', userId: a.userId });

    // Carol is online and found, so the mesh tries her directly; the first attempt times out.
    const toCarol = (l: Line): boolean => l.event === 'connection' && l.userId === c.userId;
    await a.waitFor((l) => toCarol(l) && l.state === 'RECONNECTING', 120_000);
    const since = a.lines.length;

    const want = ['one', 'two', 'three'];
    const ids: string[] = [];
    for (const text of want) ids.push(String((await a.ok({ op: 'send', to: c.userId, text })).id));
    await eventually(() => messagesWith(a, c.userId), (ms) => ids.every((id) => ['stored', 'delivered'].includes(ms.find((m) => m.id === id)?.status ?? '')), 150_000);

    const meanwhile = a.lines.slice(since).filter((l) => toCarol(l) && ['FAILED', 'STORE_AND_FORWARD', 'CONNECTED'].includes(String(l.state)));
    expect(meanwhile, 'stored while the mesh was still retrying').toEqual([]);

    const onC = await eventually(() => messagesWith(c, a.userId), (ms) => ms.filter((m) => m.from === a.userId).length === want.length, 60_000);
    expect(onC.map((m) => m.text)).toEqual(want);
    const shown = c.lines.filter((l) => l.event === 'message' && l.from === a.userId).map((l) => l.id);
    expect(shown).toEqual(ids);
    await eventually(() => messagesWith(a, c.userId), (ms) => ids.every((id) => ms.find((m) => m.id === id)?.status === 'delivered'), 60_000);
  }, 300_000);
});

describe('offline inbox on a 3-node mailbox cluster', () => {
  let broker: TestBroker;
  let cluster: TestCluster;
  const peers: HeadlessPeer[] = [];
  beforeAll(async () => {
    broker = await openBroker('embedded');
    cluster = await TestCluster.start({ size: 3 });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(peers.splice(0).map((p) => p.quit()));
    await cluster?.stop();
    await broker?.close();
  });

  it('the mailbox leader is killed with kill -9 during Carol\'s fetch: she still gets everything once', async () => {
    const start = async (profile: string, name: string): Promise<HeadlessPeer> => {
      const p = await HeadlessPeer.start({ profile, name, broker: broker.url, extraArgs: ['--mailbox', cluster.seeds.join(','), '--mailbox-poll-ms', '1000'] });
      peers.push(p);
      return p;
    };
    const profileC = tempProfile('carol');
    const alice = await start(tempProfile('alice'), 'alice');
    let carol = await start(profileC, 'carol');
    await befriend(alice, carol);
    peers.splice(peers.indexOf(carol), 1);
    await carol.quit();

    const want = Array.from({ length: 60 }, (_, i) => `through a failover ${String(i).padStart(2, '0')}`);
    for (const text of want) await alice.ok({ op: 'send', to: carol.userId, text });
    await eventually(() => messagesWith(alice, carol.userId), (ms) => ms.filter((m) => m.status === 'stored').length === 60, 90_000);
    peers.splice(peers.indexOf(alice), 1);
    await alice.quit();

    const probe = new MailboxClient({ seeds: cluster.seeds, clusterId: cluster.clusterId });
    const leader = await cluster.leader(probe);
    probe.close();
    carol = await start(profileC, 'carol');
    // kill the leader as soon as the first messages have been stored on Carol's device
    await carol.waitFor((l) => l.event === 'message', 60_000);
    await cluster.kill(leader, 'SIGKILL');
    const shownAtKill = carol.lines.filter((l) => l.event === 'message').length;
    expect(shownAtKill).toBeLessThan(60); // the kill really fell inside the fetch
    const got = await eventually(() => messagesWith(carol, alice.userId), (ms) => ms.length >= 60, 120_000);
    expect(got.map((m) => m.text)).toEqual(want);
    expect(new Set(got.map((m) => m.id)).size).toBe(60);
    const shown = carol.lines.filter((l) => l.event === 'message').map((l) => l.id);
    expect(shown.length).toBe(60);
  }, 300_000);

});
