// Issue 8 part 4 with real processes: one message id reaches Carol three ways at once — directly
// from Alice (her stored messages are sent once more when the channel opens), forwarded by Bob the
// coordinator, and from her mailbox inbox on a real mailbox node. Carol shows each message once and
// ACKs every copy: Alice's turn `delivered`, Bob's copies are deleted, and Carol's inbox position
// moves past them.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { loadOrCreateIdentity } from '../../../src/main/host/keystore';
import { sealChat } from '../../../src/main/host/sealed-chat';
import { MailboxClient } from '../../../src/server/mailbox/client';
import { inboxQueue, signInboxOp } from '../../../src/shared/mailbox-auth';
import { openBroker, type TestBroker } from '../../helpers/brokers';
import { befriend, eventually, messagesWith, tempProfile } from '../../helpers/headless-peer';
import { TestCluster } from '../mailbox/cluster';
import { allWithStatus, coordStats, Peers, rejected, shownOnce, texts, type Msg } from './support';

describe('exactly once across direct, coordinator and mailbox', () => {
  let broker: TestBroker;
  let cluster: TestCluster;
  const peers = new Peers(() => broker.url);

  beforeAll(async () => {
    broker = await openBroker('embedded');
    cluster = await TestCluster.start({ size: 1 });
  }, 60_000);
  afterEach(async () => {
    await peers.stopAll();
  });
  afterAll(async () => {
    await cluster?.stop();
    await broker?.close();
  });

  it('the same ids arrive by all three paths: shown once, every holder drops its copy, Alice sees delivered', async () => {
    const mailbox = ['--mailbox', cluster.seeds.join(','), '--mailbox-poll-ms', '2000'];
    const profiles = { a: tempProfile('alice'), c: tempProfile('carol') };
    const alice = await peers.start(profiles.a, 'alice', mailbox);
    const bob = await peers.start(tempProfile('bob'), 'bob', ['--coordinator']);
    let carol = await peers.start(profiles.c, 'carol', mailbox);
    await befriend(alice, bob);
    await befriend(bob, carol);
    await befriend(alice, carol);
    const { deviceId } = await carol.ok({ op: 'whoami' });
    await peers.stop(carol);

    const want = texts(3, 'three ways');
    for (const text of want) await alice.ok({ op: 'send', to: carol.userId, text });
    // tier 1 first: Bob holds them, so the mailbox got nothing from Alice's outbox
    const stored = await allWithStatus(alice, carol.userId, 3, 'stored');
    expect((await coordStats(bob)).held).toBe(3);

    // The same messages, signed by Alice's own key, also sit in Carol's mailbox inbox (as after
    // a deposit from another of Alice's attempts): the same ids, the same text and time.
    const aliceKey = loadOrCreateIdentity(profiles.a).identity;
    const inbox = inboxQueue(carol.userId);
    const m = new MailboxClient({ seeds: cluster.seeds, clusterId: cluster.clusterId, timeoutMs: 15_000 });
    try {
      for (const msg of stored) {
        const data = JSON.stringify({ v: 1, from: alice.userId, sealed: sealChat(carol.userId, msg.id, { text: msg.text, sentAt: msg.ts }, aliceKey, nodeSigner) });
        await m.append(inbox, data, msg.id, { auth: signInboxOp({ op: 'APPEND', queue: inbox, reqId: msg.id, data }, aliceKey, nodeSigner) });
      }

      // Carol starts with Alice and Bob online and her inbox full: three copies of each id
      carol = await peers.start(profiles.c, 'carol', mailbox);
      const got = await eventually(async () => (await messagesWith(carol, alice.userId)) as Msg[], (ms) => ms.length >= 3, 90_000);
      await allWithStatus(alice, carol.userId, 3, 'delivered');
      await eventually(() => coordStats(bob), (s) => s.held === 0 && s.dropped === 3, 90_000);
      const carolKey = loadOrCreateIdentity(profiles.c).identity;
      const read = () => m.read(inbox, String(deviceId), signInboxOp({ op: 'READ', queue: inbox, clientId: String(deviceId) }, carolKey, nodeSigner));
      await eventually(read, (r) => 'empty' in r, 90_000);

      // Bob's copies reached Carol too (not only dropped): all three paths delivered
      await eventually(() => coordStats(carol), (s) => s.receivedForwarded === 3, 60_000);
      expect(shownOnce(carol, alice.userId, want, got)).toEqual({ listed: want, events: 3, distinct: 3 });
      expect(shownOnce(carol, alice.userId, want, (await messagesWith(carol, alice.userId)) as Msg[])).toEqual({ listed: want, events: 3, distinct: 3 });
      const r = await rejected(carol);
      expect(Object.keys(r).filter((k) => k.startsWith('mailbox:') || k.startsWith('coordinator:'))).toEqual([]);
    } finally {
      m.close();
    }
  }, 300_000);
});
