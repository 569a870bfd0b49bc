// Issue 8 part 2 with real processes: headless peers (`parley peer`, @roamhq/wrtc), a real broker
// and real SQLite files. Bob opted in as a coordinator (--coordinator); Alice writes to Carol while
// Carol is offline and there is no mailbox, so Bob holds sealed copies and forwards them when
// Carol connects. Bob is killed with kill -9 and restarted in between.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { STORED_AT } from '../../../src/main/host/delivery';
import { openBroker, type TestBroker } from '../../helpers/brokers';
import { befriend, eventually, messagesWith, tempProfile, waitConnected, type HeadlessPeer } from '../../helpers/headless-peer';
import { allWithStatus, coordStats, dbFilesContain, heldRows, outboxNextAttempts, Peers, shownOnce, texts, type Msg } from './support';

describe('coordinator store-and-forward', () => {
  let broker: TestBroker;
  const peers = new Peers(() => broker.url);

  beforeAll(async () => {
    broker = await openBroker('embedded');
  }, 60_000);
  afterEach(async () => {
    await peers.stopAll();
  });
  afterAll(async () => {
    await broker?.close();
  });

  async function threeFriends(bobExtra: string[] = []): Promise<{ alice: HeadlessPeer; bob: HeadlessPeer; carol: HeadlessPeer; profiles: { a: string; b: string; c: string } }> {
    const profiles = { a: tempProfile('alice'), b: tempProfile('bob'), c: tempProfile('carol') };
    const alice = await peers.start(profiles.a, 'alice');
    const bob = await peers.start(profiles.b, 'bob', ['--coordinator', ...bobExtra]);
    const carol = await peers.start(profiles.c, 'carol');
    await befriend(alice, bob);
    await befriend(bob, carol);
    await befriend(alice, carol);
    return { alice, bob, carol, profiles };
  }

  it('Bob holds 20 for Carol, is killed with kill -9 and restarted; Carol connects and gets all 20 once, in order; Bob\'s copies are gone; Alice goes stored → delivered', async () => {
    const t = await threeFriends();
    let { alice, bob } = t;
    await peers.stop(t.carol);
    const carolId = t.carol.userId;

    const want = texts(20, 'held by bob');
    for (const text of want) await alice.ok({ op: 'send', to: carolId, text });
    const stored = await allWithStatus(alice, carolId, 20, 'stored');
    expect(stored.map((m) => m.text)).toEqual(want);
    expect(alice.lines.filter((l) => l.event === 'status' && l.status === 'stored').length).toBe(20);
    expect((await coordStats(bob)).held).toBe(20);
    await peers.stop(alice);
    // the outbox no longer retries them on a timer: parked until a channel to Carol opens
    expect(outboxNextAttempts(t.profiles.a)).toEqual(Array(20).fill(STORED_AT));

    await peers.stop(bob, 'kill');
    expect(heldRows(t.profiles.b)).toBe(20);
    // Bob's database (and its WAL) holds sealed copies only: none of the text is in it
    expect(dbFilesContain(t.profiles.b, 'held by bob')).toBe(false);
    expect(dbFilesContain(t.profiles.a, 'held by bob')).toBe(true); // the check can see text where there is some
    bob = await peers.start(t.profiles.b, 'bob', ['--coordinator']);
    expect((await coordStats(bob)).held).toBe(20);

    const carol = await peers.start(t.profiles.c, 'carol');
    await waitConnected(carol, bob.userId, 90_000);
    const got = await eventually(async () => (await messagesWith(carol, alice.userId)) as Msg[], (ms) => ms.length >= 20, 90_000);
    const once = shownOnce(carol, alice.userId, want, got);
    expect(once).toEqual({ listed: want, events: 20, distinct: 20 });
    expect(got.every((m) => m.status === 'delivered')).toBe(true);
    await eventually(() => coordStats(bob), (s) => s.held === 0, 60_000);
    expect((await coordStats(bob)).dropped).toBe(20);
    expect((await coordStats(carol)).receivedForwarded).toBe(20);

    // Alice comes back: her stored messages go to Carol once more directly, and her status turns delivered
    const before = carol.lines.length;
    alice = await peers.start(t.profiles.a, 'alice');
    await waitConnected(carol, alice.userId, 90_000, before);
    const delivered = await allWithStatus(alice, carolId, 20, 'delivered');
    expect(delivered.map((m) => m.text)).toEqual(want);
    expect(shownOnce(carol, alice.userId, want, (await messagesWith(carol, alice.userId)) as Msg[])).toEqual({ listed: want, events: 20, distinct: 20 });
    await peers.stop(bob);
    expect(heldRows(t.profiles.b)).toBe(0);
  }, 400_000);

  it('an expired copy is purged and never delivered; a later one still is', async () => {
    const t = await threeFriends(['--coordinator-hold-ms', '2000']);
    let { bob } = t;
    const { alice } = t;
    await peers.stop(t.carol);
    const carolId = t.carol.userId;

    await alice.ok({ op: 'send', to: carolId, text: 'this one expires' });
    await allWithStatus(alice, carolId, 1, 'stored');
    await eventually(() => coordStats(bob), (s) => s.purged === 1 && s.held === 0, 60_000);
    // Bob goes on with the default hold time; Alice writes again
    await peers.stop(bob);
    expect(heldRows(t.profiles.b)).toBe(0);
    bob = await peers.start(t.profiles.b, 'bob', ['--coordinator']);
    await waitConnected(alice, bob.userId, 90_000, alice.lines.length);
    await alice.ok({ op: 'send', to: carolId, text: 'this one is kept' });
    await allWithStatus(alice, carolId, 2, 'stored');
    await peers.stop(alice);

    const carol = await peers.start(t.profiles.c, 'carol');
    await waitConnected(carol, bob.userId, 90_000);
    const got = await eventually(async () => (await messagesWith(carol, alice.userId)) as Msg[], (ms) => ms.length >= 1, 90_000);
    await eventually(() => coordStats(bob), (s) => s.held === 0, 60_000);
    expect(got.map((m) => m.text)).toEqual(['this one is kept']);
    expect(carol.lines.filter((l) => l.event === 'message' && l.text === 'this one expires')).toEqual([]);
    expect((await coordStats(carol)).receivedForwarded).toBe(1);
  }, 300_000);
});
