/**
 * Seed 004's story with three real headless peers and real WebRTC: Alice only on the MQTT broker,
 * Carol only on the WebSocket signal server, Bob on both. Alice finds Carol through Bob
 * (PEER_QUERY → PEER_FOUND naming Carol's signal server), then through the registry with Bob
 * gone, then from her cached route.
 */
import { describe, expect, it } from 'vitest';
import {
  addContact, chatDelivered, connectedTrace, signalAddrsOf, startRolePeer, startTrio,
  type TraceLine, waitConnected,
  reachSuite,
} from '../../helpers/discovery-trio';

const suite = reachSuite();
const { running } = suite;

const outcomes = (t: TraceLine) => t.steps.map((s) => [s.step, s.outcome]);

describe('A (MQTT only) reaches C (WebSocket only)', () => {
  it('through Bob: PEER_FOUND names Carol\'s signal server, then a direct channel and chat both ways', { timeout: 300_000 }, async () => {
    const { a, b, c } = await startTrio(suite.servers);
    running.push(a, b, c);
    const [carolAddr] = await signalAddrsOf(c);
    expect(carolAddr).toMatch(new RegExp(`^${suite.servers.signal}/`));
    // Alice has no signal server of her own and Carol no broker: only Bob can tell Alice where Carol is.
    expect(await signalAddrsOf(a)).toEqual([expect.stringMatching(/^mqtt:\/\//)]);

    await addContact(a, c);
    await waitConnected(a, c.userId, 90_000);
    await waitConnected(c, a.userId, 90_000);
    const trace = await connectedTrace(a, c.userId);
    expect(trace.winner).toBe('peers');
    expect(trace.route?.signalAddr).toBe(carolAddr);
    expect(trace.route?.via).toBe(b.userId);
    expect(outcomes(trace)).toEqual([['active', 'none'], ['cache', 'none'], ['peers', 'found']]);
    // Alice attached to Carol's signal server because the route named it (not a home server).
    const net = await a.ok({ op: 'network' });
    expect(net.signalServers).toContainEqual(expect.objectContaining({ url: suite.servers.signal, kind: 'ws', home: false }));

    await chatDelivered(a, c, 'hello Carol, found you through Bob');
    await chatDelivered(c, a, 'hi Alice, straight back to you');
    // The channel is direct: with Bob gone it still carries chat both ways.
    await b.quit();
    await chatDelivered(a, c, 'Bob left and we still talk');
    await chatDelivered(c, a, 'yes, no one in between');
    const peers = (await a.ok({ op: 'peers' })).peers as { userId: string; state: string; path: string }[];
    expect(peers.find((p) => p.userId === c.userId)).toMatchObject({ state: 'CONNECTED', path: 'direct' });
  });

  it('with Bob stopped, through the registry; a second attempt takes the cached route (step 2)', { timeout: 300_000 }, async () => {
    const { a, b, c } = await startTrio(suite.servers);
    running.push(a, c);
    const [carolAddr] = await signalAddrsOf(c);
    await b.quit();
    await addContact(a, c);
    await waitConnected(a, c.userId, 90_000);
    const first = await connectedTrace(a, c.userId);
    expect(first.winner).toBe('registry');
    expect(first.route?.signalAddr).toBe(carolAddr);
    expect(first.route?.via).toBe(suite.servers.registry);
    // Nobody to ask: the peer query found nothing, coordinators none, the registry answered.
    expect(outcomes(first)).toEqual([['active', 'none'], ['cache', 'none'], ['peers', 'none'], ['coordinators', 'none'], ['registry', 'found']]);
    await chatDelivered(a, c, 'found you in the registry');
    await chatDelivered(c, a, 'and I answer over the same channel');

    // Alice restarts (same profile): the route that worked is in peer_routes and wins at once.
    running.splice(running.indexOf(a), 1);
    await a.quit();
    const a2 = await startRolePeer(suite.servers, 'alice', 'mqtt-only', { profile: a.opts.profile });
    running.push(a2);
    await waitConnected(a2, c.userId, 90_000);
    const second = await connectedTrace(a2, c.userId);
    expect(second.winner).toBe('cache');
    expect(second.route?.signalAddr).toBe(carolAddr);
    expect(outcomes(second)).toEqual([['active', 'none'], ['cache', 'found']]);
    await chatDelivered(a2, c, 'back, through the cached route');
    await chatDelivered(c, a2, 'welcome back');
  });
});
