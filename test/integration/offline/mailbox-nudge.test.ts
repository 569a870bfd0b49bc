/**
 * Issue 8: "new mail" nudges. When Alice deposits in Carol's inbox, Carol's device is nudged over
 * the way Alice signals her (the MQTT topic user/{carol}/mailbox, or a NOTIFY frame through the
 * WebSocket signal server Carol is attached to) and READs at once; her fallback poll is an hour
 * here, so nothing else can explain the read. Real hosts (real SQLite), real Mosquitto, a real
 * signal server and a real mailbox node; Alice's channel to Carol is reported FAILED at the mesh
 * seam (mesh.report), which is what sends her message to the mailbox while Carol is online.
 * Nudges are signed and count only from contacts: a stranger's are refused and counted, a forged
 * one fails its signature, and a contact's flood makes Carol READ at most once per interval.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { startHost, type HostApi, type HostOptions } from '../../../src/main/host/host';
import { loadOrCreateIdentity } from '../../../src/main/host/keystore';
import { wsClientFactory } from '../../../src/main/host/reach-clients';
import { MqttSignaling } from '../../../src/main/signaling/mqtt-signaling';
import { startSignalServer, type SignalServerHandle } from '../../../src/server/signal';
import { generateIdentity, type Identity } from '../../../src/shared/identity';
import { MailboxClient } from '../../../src/server/mailbox/client';
import { inboxQueue, signInboxOp } from '../../../src/shared/mailbox-auth';
import { randomId } from '../../../src/shared/ids';
import { sealAck } from '../../../src/main/host/sealed-chat';
import { MOSQUITTO_URL } from '../../helpers/brokers';
import { eventually, tempProfile } from '../../helpers/headless-peer';
import { TestCluster } from '../mailbox/cluster';

const HOUR = 3_600_000;
const NUDGE_INTERVAL_MS = 30_000;

describe('new-mail nudges', () => {
  let cluster: TestCluster;
  let signal: SignalServerHandle;
  const hosts: HostApi[] = [];
  const profileA = tempProfile('nudge-alice');
  const profileC = tempProfile('nudge-carol');

  const start = async (profileDir: string, name: string, extra: Partial<HostOptions>): Promise<HostApi> => {
    const h = await startHost({ profileDir, name, mailbox: cluster.seeds.join(','), mailboxPollMs: HOUR, noPathWaitMs: 300, ...extra });
    hosts.push(h);
    return h;
  };
  const stop = async (h: HostApi): Promise<void> => {
    hosts.splice(hosts.indexOf(h), 1);
    await h.close();
  };
  /** Alice's mesh says Carol can't be reached directly: the outbox goes to the mailbox. */
  const unreachable = async (alice: HostApi, carol: HostApi): Promise<void> => {
    const { session } = await alice.handle('mesh.attach', {});
    await alice.handle('mesh.report', { kind: 'state', session, userId: carol.userId, state: 'FAILED', attempt: 5 });
  };
  /** Records every status event of the host; returns the statuses one message went through. */
  const statuses = (h: HostApi): ((id: string) => string[]) => {
    const all: { id: string; status: string }[] = [];
    h.on('status', (e) => all.push(e));
    return (id) => all.filter((e) => e.id === id).map((e) => e.status);
  };
  const receivedBy = async (carol: HostApi, from: string, text: string): Promise<void> => {
    await eventually(() => carol.handle('messages.list', { with: from }), (ms) => ms.some((m) => m.text === text), 90_000);
  };

  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 1 });
    signal = await startSignalServer({ port: 0 });
    // Contacts are made over the broker once; both profiles keep them for the runs below.
    const alice = await start(profileA, 'alice', { brokerUrl: MOSQUITTO_URL });
    const carol = await start(profileC, 'carol', { brokerUrl: MOSQUITTO_URL });
    for (const h of [alice, carol]) await eventually(() => h.handle('status', {}), (s) => s.signaling === 'connected', 30_000);
    const asked = new Promise((r) => carol.on('contactRequest', r));
    await alice.handle('contacts.add', { userId: carol.userId });
    await asked;
    await carol.handle('contacts.respond', { userId: alice.userId, accept: true });
    await eventually(() => alice.handle('contacts.list', {}), (cs) => cs[0]?.state === 'accepted', 30_000);
    await stop(alice);
    await stop(carol);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(hosts.splice(0).map((h) => h.close()));
    await signal?.close();
    await cluster?.stop();
  });

  it('over MQTT: Alice deposits, Carol is nudged on user/{carol}/mailbox and READs at once', async () => {
    const carol = await start(profileC, 'carol', { brokerUrl: MOSQUITTO_URL });
    const alice = await start(profileA, 'alice', { brokerUrl: MOSQUITTO_URL });
    for (const h of [alice, carol]) await eventually(() => h.handle('status', {}), (s) => s.signaling === 'connected', 30_000);
    // Carol's start-up READ is done; from here on only a nudge makes her read (the poll is an hour)
    await eventually(async () => carol.mailboxStats()!, (s) => s.reads >= 1, 30_000);
    expect(carol.mailboxStats()!.nudges.received).toBe(0);

    const seen = statuses(alice);
    const { id } = await alice.handle('messages.send', { to: carol.userId, text: 'nudged over MQTT' });
    await unreachable(alice, carol);
    // (the receipt may come back through the mailbox right after, so the status event is the witness)
    await eventually(async () => seen(id), (st) => st.includes('stored'), 60_000);
    await receivedBy(carol, alice.userId, 'nudged over MQTT');
    expect(carol.mailboxStats()!.nudges.received).toBeGreaterThanOrEqual(1);
    expect(carol.mailboxStats()!.fetched).toBe(1);
    await stop(alice);
    await stop(carol);
  }, 180_000);

  it('over a WebSocket signal server (no broker): the nudge is a NOTIFY frame to Carol\'s device', async () => {
    const ws = { brokerUrl: 'none', signalUrls: [signal.url], wsClientFactory };
    const carol = await start(profileC, 'carol', ws);
    const alice = await start(profileA, 'alice', ws);
    const carolAddr = await eventually(async () => (await carol.handle('network.status', {})).signalAddrs, (a) => a.length === 1, 30_000);
    await eventually(async () => carol.mailboxStats()!, (s) => s.reads >= 1, 30_000);
    const nudgesBefore = carol.mailboxStats()!.nudges.received;
    const fetchedBefore = carol.mailboxStats()!.fetched;

    // Alice knows where Carol is attached (what the discovery chain would find) but has no channel.
    await alice.handle('mesh.attach', {});
    await alice.handle('route.use', { userId: carol.userId, route: { signalAddr: carolAddr[0]! } });
    const seen = statuses(alice);
    const { id } = await alice.handle('messages.send', { to: carol.userId, text: 'nudged over WebSocket' });
    await unreachable(alice, carol);
    await eventually(async () => seen(id), (st) => st.includes('stored'), 60_000);
    await receivedBy(carol, alice.userId, 'nudged over WebSocket');
    expect(carol.mailboxStats()!.nudges.received).toBeGreaterThan(nudgesBefore);
    expect(carol.mailboxStats()!.fetched).toBe(fetchedBefore + 1);
    expect(Object.values(signal.stats().refused).reduce((a, b) => a + b, 0)).toBe(0);
    await stop(alice);
    await stop(carol);
  }, 180_000);

  it('receipts through the mailbox: one for a message not sent to its signer, or from a stranger, is refused and counted; the real one delivers', async () => {
    const alice = await start(profileA, 'alice', { brokerUrl: MOSQUITTO_URL });
    await eventually(() => alice.handle('status', {}), (s) => s.signaling === 'connected', 30_000);
    const carolId = loadOrCreateIdentity(profileC).identity;
    const { id } = await alice.handle('messages.send', { to: carolId.userId, text: 'waiting for a receipt' });
    await unreachable(alice, { userId: carolId.userId } as HostApi);
    await eventually(() => alice.handle('messages.list', { with: carolId.userId }), (ms) => ms.find((m) => m.id === id)?.status === 'stored', 60_000);

    const m = new MailboxClient({ seeds: cluster.seeds, clusterId: cluster.clusterId, timeoutMs: 20_000 });
    const inbox = inboxQueue(alice.userId);
    const receipt = async (from: Identity, ids: string[]): Promise<void> => {
      const { id: reqId, sealed } = sealAck(alice.userId, ids, from, nodeSigner);
      const data = JSON.stringify({ v: 1, from: from.userId, sealed });
      await m.append(inbox, data, reqId, { auth: signInboxOp({ op: 'APPEND', queue: inbox, reqId, data }, from, nodeSigner) });
    };
    const nudger = new MqttSignaling({ url: MOSQUITTO_URL, identity: carolId, deviceId: 'carol-nudger', signer: nodeSigner });
    nudger.start();
    const base = alice.rejectStats()['mailbox:UNAUTHORIZED'] ?? 0;
    try {
      await receipt(carolId, [randomId()]); // Carol "confirms" something Alice never sent her
      await receipt(generateIdentity(), [id]); // a stranger confirms Alice's real message
      nudger.send(alice.userId, 'mailbox', {});
      await eventually(async () => alice.rejectStats()['mailbox:UNAUTHORIZED'] ?? 0, (n) => n >= base + 2, 60_000);
      expect((await alice.handle('messages.list', { with: carolId.userId })).find((x) => x.id === id)?.status).toBe('stored');

      await receipt(carolId, [id]);
      await eventually(async () => { nudger.send(alice.userId, 'mailbox', {}); return alice.handle('messages.list', { with: carolId.userId }); },
        (ms) => ms.find((x) => x.id === id)?.status === 'delivered', 60_000, 2_500);
    } finally {
      await nudger.stop();
      m.close();
    }
    await stop(alice);
  }, 180_000);

  it('hostile: a stranger\'s nudges are refused, a forged one fails its signature, a contact\'s flood costs one READ per interval', async () => {
    const carol = await start(profileC, 'carol', { brokerUrl: MOSQUITTO_URL, mailboxNudgeMinIntervalMs: NUDGE_INTERVAL_MS });
    await eventually(() => carol.handle('status', {}), (s) => s.signaling === 'connected', 30_000);
    await eventually(async () => carol.mailboxStats()!, (s) => s.reads >= 1, 30_000);
    const base = carol.mailboxStats()!;
    const rejectedBase = carol.rejectStats();

    // a stranger, properly signed
    const mallory = new MqttSignaling({ url: MOSQUITTO_URL, identity: generateIdentity(), deviceId: 'mallory-dev', signer: nodeSigner });
    mallory.start();
    for (let i = 0; i < 20; i++) mallory.send(carol.userId, 'mailbox', {});
    await eventually(async () => carol.rejectStats()['signaling:UNAUTHORIZED'] ?? 0, (n) => n >= (rejectedBase['signaling:UNAUTHORIZED'] ?? 0) + 20, 60_000);
    await mallory.stop();

    // junk on Carol's nudge topic, claiming nothing it can prove
    const raw = await mqtt.connectAsync(MOSQUITTO_URL, { clientId: `forger-${Date.now()}` });
    await raw.publishAsync(`user/${carol.userId}/mailbox`, JSON.stringify({ v: 1, type: 'mailbox', from: hosts[0]!.userId, to: carol.userId, body: {}, sig: 'AAAA' }), { qos: 1 });
    await raw.endAsync();
    const signalingRejects = (r: Record<string, number>): number => Object.entries(r).filter(([k]) => k.startsWith('signaling:')).reduce((n, [, v]) => n + v, 0);
    await eventually(async () => signalingRejects(carol.rejectStats()), (n) => n >= signalingRejects(rejectedBase) + 21, 60_000);
    expect(carol.mailboxStats()!.nudges.received).toBe(base.nudges.received);

    // Alice (a contact) floods nudges from a second connection of her own identity
    const alice = new MqttSignaling({ url: MOSQUITTO_URL, identity: loadOrCreateIdentity(profileA).identity, deviceId: 'alice-flood', signer: nodeSigner });
    alice.start();
    const FLOOD = 300;
    const began = Date.now();
    for (let i = 0; i < FLOOD; i++) alice.send(carol.userId, 'mailbox', {});
    await eventually(async () => carol.mailboxStats()!, (s) => s.nudges.received >= base.nudges.received + FLOOD, 90_000);
    const elapsed = Date.now() - began;
    await alice.stop();
    const after = carol.mailboxStats()!;
    const fetches = after.nudges.fetches - base.nudges.fetches;
    // at most one at once (none if a nudge queued for Carol while she was away just started one),
    // then one per interval that passed (plus the trailing one still waiting)
    expect(fetches).toBeLessThanOrEqual(1 + Math.ceil(elapsed / NUDGE_INTERVAL_MS));
    expect(after.nudges.coalesced - base.nudges.coalesced).toBe(FLOOD - fetches);
    // an empty inbox costs one READ per fetch
    expect(after.reads - base.reads).toBeLessThanOrEqual(fetches);
  }, 240_000);
});
