/**
 * Hostile PEER_QUERY, PEER_FOUND and NETWORK_STATE from a real attacker process: its own key,
 * real signaling and real WebRTC channels (fixtures/attacker-peer.ts), against real headless peers.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HeadlessPeer, eventually, tempProfile, type Line } from '../../helpers/headless-peer';
import {
  addContact, befriendSlowly, chatDelivered, connectedTrace, DISCOVERY_ENV, PEER_READY_MS, reachArgs, signalAddrsOf,
  startRolePeer, type Role, type TraceLine, waitConnected,
  reachSuite,
} from '../../helpers/discovery-trio';

const ATTACKER = fileURLToPath(new URL('./fixtures/attacker.mjs', import.meta.url));

const suite = reachSuite();
const { running } = suite;

async function startAttacker(role: Role): Promise<HeadlessPeer> {
  const x = await HeadlessPeer.start({ profile: tempProfile('disc-mallory'), name: 'mallory', script: ATTACKER, ...reachArgs(suite.servers, role), env: DISCOVERY_ENV, readyTimeoutMs: PEER_READY_MS });
  running.push(x);
  return x;
}

const reqId = (): string => randomBytes(16).toString('hex');
const rejected = async (p: HeadlessPeer, key: string): Promise<number> => ((await p.ok({ op: 'stats' })).rejected as Record<string, number>)[key] ?? 0;
const foundFor = (x: HeadlessPeer, requestId: string) => x.lines.filter((l) => l.event === 'frame' && l.type === 'PEER_FOUND' && (l.body as { requestId?: string })?.requestId === requestId);

/** Asks until answered (Bob learns of Carol from her NETWORK_STATE shortly after their channel opens). */
async function answeredQuery(x: HeadlessPeer, b: HeadlessPeer, target: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const requestId = reqId();
    await x.ok({ op: 'raw', to: b.userId, type: 'PEER_QUERY', body: { lookingFor: target, requestId } });
    const got = await x.waitFor((l) => l.event === 'frame' && l.type === 'PEER_FOUND' && (l.body as { requestId?: string }).requestId === requestId, 3_000).catch(() => null);
    if (got) return requestId;
  }
  throw new Error(`Bob never answered his contact's PEER_QUERY; last lines ${JSON.stringify(x.lines.slice(-5))}`);
}

describe('hostile discovery input', () => {
  it('an oversize NETWORK_STATE is refused and counted, chat goes on; once declined, a contact loses her channel and her PEER_QUERY no longer reaches anyone', { timeout: 300_000 }, async () => {
    const b = await startRolePeer(suite.servers, 'bob', 'both');
    const c = await startRolePeer(suite.servers, 'carol', 'ws-only');
    running.push(b, c);
    const x = await startAttacker('mqtt-only');
    await befriendSlowly(c, b);
    await befriendSlowly(x, b);

    // NETWORK_STATE lists over their caps (peers, storesFor, signalAddrs): each refused by its schema.
    const many = Array.from({ length: 257 }, () => x.userId);
    const schemaBefore = await rejected(b, 'datachannel:SCHEMA');
    for (const body of [
      { peers: many, canRelay: false },
      { peers: [], canRelay: false, storesFor: many },
      { peers: [], canRelay: false, signalAddrs: Array.from({ length: 9 }, (_, i) => `ws://127.0.0.1:1/dev-${i}`) },
    ]) expect((await x.ok({ op: 'raw', to: b.userId, type: 'NETWORK_STATE', body })).sent).toBe(true);
    await eventually(() => rejected(b, 'datachannel:SCHEMA'), (n) => n >= schemaBefore + 3);
    // The channel and the chat on it keep working both ways.
    await chatDelivered(x, b, 'still here after the oversize states');
    await chatDelivered(b, x, 'and I still answer');

    // As a contact, Mallory's question about Carol is answered (so the refusal below is about her, not Carol).
    const asContact = await answeredQuery(x, b, c.userId);
    expect(foundFor(x, asContact)[0]?.body).toMatchObject({ userId: c.userId, signalAddr: (await signalAddrsOf(c))[0] });

    // Bob drops Mallory as a contact: her channel closes and stays closed (her reconnection offers
    // are refused as from a non-contact, counted), so her questions no longer reach him at all.
    // (A non-contact's PEER_QUERY on an open channel is refused unanswered: peer-finder.test.ts.)
    const since = x.lines.length;
    const refusedBefore = await rejected(b, 'signaling:UNAUTHORIZED');
    await b.ok({ op: 'contact.decline', userId: x.userId });
    const toBob = (l: Line): boolean => l.event === 'connection' && l.userId === b.userId;
    await x.waitFor((l) => toBob(l) && l.state !== 'CONNECTED', 60_000, since);
    await eventually(() => rejected(b, 'signaling:UNAUTHORIZED'), (n) => n > refusedBefore, 60_000);
    for (const requestId of Array.from({ length: 5 }, reqId)) {
      expect((await x.ok({ op: 'raw', to: b.userId, type: 'PEER_QUERY', body: { lookingFor: c.userId, requestId } })).sent).toBe(false);
    }
    const closed = since + x.lines.slice(since).findIndex((l) => toBob(l) && l.state !== 'CONNECTED');
    expect(x.lines.slice(closed).filter((l) => toBob(l) && l.state === 'CONNECTED')).toEqual([]);
  });

  it('a forged PEER_FOUND naming the wrong signal server never connects Alice to anyone but Carol\'s key', { timeout: 300_000 }, async () => {
    const a = await startRolePeer(suite.servers, 'alice', 'mqtt-only');
    const c = await startRolePeer(suite.servers, 'carol', 'ws-only');
    running.push(a, c);
    // Mallory is Alice's contact and sits on the signal server under her own device id.
    const x = await startAttacker('both');
    await befriendSlowly(x, a);
    const [carolAddr] = await signalAddrsOf(c);
    const forgedAddr = ((await x.ok({ op: 'network' })).signalAddrs as string[]).find((s) => s.startsWith('ws'))!;
    expect(forgedAddr).toMatch(new RegExp(`^${suite.servers.signal}/`));
    expect(forgedAddr).not.toBe(carolAddr);
    await x.ok({ op: 'forge', target: c.userId, signalAddr: forgedAddr });

    await addContact(a, c);
    // The first attempt believes Mallory and signals her device: only sealed offers reach her.
    const misled = await a.waitFor((l) => l.event === 'route' && l.userId === c.userId && (l.route as TraceLine['route'])?.signalAddr === forgedAddr, 120_000);
    expect(misled).toMatchObject({ winner: 'peers', route: { via: x.userId } });
    await eventually(() => rejected(x, 'signaling:WRONG_RECIPIENT'), (n) => n >= 1, 120_000);
    expect(x.lines.some((l) => l.event === 'frame' && l.type === 'PEER_QUERY' && (l.body as { lookingFor?: string }).lookingFor === c.userId)).toBe(true);

    // That route fails; Mallory's word about Carol is not taken again, and the registry finds the real one.
    await a.waitFor((l) => l.event === 'route' && l.userId === c.userId && (l.route as TraceLine['route'])?.signalAddr === forgedAddr && l.result === 'failed', 120_000);
    await waitConnected(a, c.userId, 120_000);
    await waitConnected(c, a.userId, 120_000);
    const trace = await connectedTrace(a, c.userId);
    expect(trace.winner).toBe('registry');
    expect(trace.route?.signalAddr).toBe(carolAddr);
    // The peer at the other end holds Carol's key: she reads Alice's message and Alice gets her ACK and reply.
    await chatDelivered(a, c, 'are you really Carol?');
    await chatDelivered(c, a, 'yes, signed with my own key');
    // Mallory never had a channel that claims to be Carol, and Alice never opened one to anyone else.
    expect(x.lines.filter((l: Line) => l.event === 'connection' && l.userId === c.userId)).toEqual([]);
    const opened = a.lines.filter((l) => l.event === 'connection' && l.state === 'CONNECTED').map((l) => l.userId);
    expect(new Set(opened)).toEqual(new Set([x.userId, c.userId]));
  });
});
