import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openBroker, type TestBroker } from '../../helpers/brokers';
import { befriend, eventually, HeadlessPeer, messagesWith, tempProfile, waitConnected } from '../../helpers/headless-peer';

describe.each(['mosquitto', 'embedded'] as const)('chat between headless peers over %s', (kind) => {
  let broker: TestBroker;
  const peers: HeadlessPeer[] = [];
  const start = async (name: string): Promise<HeadlessPeer> => {
    const p = await HeadlessPeer.start({ profile: tempProfile(name), name, broker: broker.url });
    peers.push(p);
    return p;
  };

  beforeAll(async () => {
    broker = await openBroker(kind);
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.quit()));
  });
  afterAll(async () => {
    await broker.close();
  });

  it('two peers add each other, chat both ways, and every message reaches delivered', async () => {
    const alice = await start('alice');
    const bob = await start('bob');
    await befriend(alice, bob);

    const contacts = (await alice.ok({ op: 'contacts' })).contacts as { userId: string; state: string; name: string }[];
    expect(contacts).toEqual([expect.objectContaining({ userId: bob.userId, state: 'accepted', name: 'bob' })]);

    const sent = await alice.ok({ op: 'send', to: bob.userId, text: 'hello bob' });
    const reply = await bob.ok({ op: 'send', to: alice.userId, text: 'hi alice' });
    await bob.waitFor((l) => l.event === 'message' && l.id === sent.id);
    await alice.waitFor((l) => l.event === 'message' && l.id === reply.id);
    await alice.waitFor((l) => l.event === 'status' && l.id === sent.id && l.status === 'delivered');
    await bob.waitFor((l) => l.event === 'status' && l.id === reply.id && l.status === 'delivered');

    const onBob = await messagesWith(bob, alice.userId);
    expect(onBob.map((m) => `${m.from === alice.userId ? 'alice' : 'bob'}:${m.text}`).sort()).toEqual(['alice:hello bob', 'bob:hi alice']);
    const onAlice = await messagesWith(alice, bob.userId);
    expect(onAlice.find((m) => m.id === sent.id)?.status).toBe('delivered');
    expect(onAlice.find((m) => m.id === reply.id)?.text).toBe('hi alice');
    const statuses = alice.lines.filter((l) => l.event === 'status' && l.id === sent.id).map((l) => l.status);
    expect(statuses).toEqual(['sent', 'delivered']);
    const peersReply = await alice.ok({ op: 'peers' });
    const peers = peersReply.peers as Array<Record<string, unknown>>;
    expect(peers).toHaveLength(1);
    const { candidatePair, ...peer } = peers[0]!;
    expect(peer).toEqual({ userId: bob.userId, state: 'CONNECTED', path: 'direct' });
    // Read from the connection's stats shortly after open; on one machine both ends are host candidates.
    if (candidatePair !== undefined) expect(candidatePair).toMatchObject({ local: { type: 'host' }, remote: { type: 'host' } });
  });

  it('three peers form a full mesh and each pair chats', async () => {
    const [a, b, c] = [await start('a'), await start('b'), await start('c')];
    await befriend(a, b);
    await befriend(b, c);
    await befriend(a, c);
    const pairs: [HeadlessPeer, HeadlessPeer][] = [[a, b], [b, c], [c, a], [b, a], [c, b], [a, c]];
    const ids = await Promise.all(pairs.map(async ([from, to]) => ({ to, from, id: String((await from.ok({ op: 'send', to: to.userId, text: `from ${from.opts.name} to ${to.opts.name}` })).id) })));
    for (const { from, to, id } of ids) {
      await to.waitFor((l) => l.event === 'message' && l.id === id);
      await from.waitFor((l) => l.event === 'status' && l.id === id && l.status === 'delivered');
    }
    const bWithC = await messagesWith(b, c.userId);
    expect(bWithC.map((m) => m.text).sort()).toEqual(['from b to c', 'from c to b']);
    for (const p of [a, b, c]) {
      const peerList = (await p.ok({ op: 'peers' })).peers as { state: string }[];
      expect(peerList.map((x) => x.state)).toEqual(['CONNECTED', 'CONNECTED']);
    }
  });

  it('a contact request reaches a user who was offline when it was sent', async () => {
    const profileB = tempProfile('offline-b');
    const bFirst = await HeadlessPeer.start({ profile: profileB, name: 'b', broker: broker.url });
    const bId = bFirst.userId;
    // B has been online once, so the broker holds its persistent session.
    await bFirst.waitFor((l) => l.event === 'signaling' && l.state === 'connected');
    await bFirst.quit();
    const a = await start('a');
    await a.ok({ op: 'contact.add', userId: bId, name: 'b' });
    // Give the broker the request before B comes back.
    await new Promise((r) => setTimeout(r, 500));
    const b = await HeadlessPeer.start({ profile: profileB, name: 'b', broker: broker.url });
    peers.push(b);
    await b.waitFor((l) => l.event === 'contactRequest' && l.userId === a.userId);
    await b.ok({ op: 'contact.accept', userId: a.userId });
    await waitConnected(a, bId);
    const contacts = await eventually(async () => (await a.ok({ op: 'contacts' })).contacts as { state: string }[], (c) => c[0]?.state === 'accepted');
    expect(contacts[0]?.state).toBe('accepted');
  });
});
