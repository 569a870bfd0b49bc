import { afterEach, describe, expect, it } from 'vitest';
import { type MemoryBusOptions, MemorySignalingBus } from '../../../src/renderer/mesh/memory-signaling';
import { ALICE, BOB, type TestPeer, connected, exchange, livePeerConnections, startPeer, stopPeer, waitFor } from './harness';

let bus: MemorySignalingBus;
let peers: TestPeer[] = [];
afterEach(() => {
  for (const p of peers) stopPeer(bus, p);
  peers = [];
});

/**
 * Both sides call connect() in the same tick. With `forceCrossing`, signaling is held until both
 * offers are on the wire, so the offers certainly cross (true glare every round).
 * Checks there is exactly one working connection.
 */
async function glareRound(round: number, busOpts: MemoryBusOptions, forceCrossing: boolean): Promise<{ rollbacks: number; ignored: number }> {
  bus = new MemorySignalingBus(busOpts);
  const a = startPeer(bus, ALICE);
  const b = startPeer(bus, BOB);
  peers = [a, b];
  const offers = new Set<string>();
  bus.tap((m) => {
    if (m.kind === 'offer') offers.add(m.from);
  });
  if (forceCrossing) bus.pause();
  a.mesh.connect(BOB);
  b.mesh.connect(ALICE);
  if (forceCrossing) {
    await waitFor(`round ${round}: both offers sent`, () => offers.size === 2);
    bus.resume();
  }
  await waitFor(`round ${round}: connected`, () => connected(a, b));
  await exchange(a, b, `r${round}`);
  // Exactly one connection: one RTCPeerConnection per side, never replaced, one open
  // pre-negotiated 'msg' channel and no in-band channel from the other side.
  expect(a.pcs.length).toBe(1);
  expect(b.pcs.length).toBe(1);
  expect(livePeerConnections(a.pcs)).toBe(1);
  expect(livePeerConnections(b.pcs)).toBe(1);
  expect(a.inbandChannels() + b.inbandChannels()).toBe(0);
  expect(a.opens).toEqual([BOB]);
  expect(b.opens).toEqual([ALICE]);
  expect(a.closes.length + b.closes.length).toBe(0);
  for (const p of [a, b]) expect(p.mesh.recentRejections()).toEqual([]);
  // Bob (higher id, impolite) never rolls back; Alice (polite) never ignores an offer.
  expect(b.mesh.stats().glareRollbacks).toBe(0);
  expect(a.mesh.stats().offersIgnored).toBe(0);
  const result = { rollbacks: a.mesh.stats().glareRollbacks, ignored: b.mesh.stats().offersIgnored };
  stopPeer(bus, a);
  stopPeer(bus, b);
  expect(livePeerConnections([...a.pcs, ...b.pcs])).toBe(0);
  peers = [];
  return result;
}

describe('mesh: glare (both connect at the same instant)', () => {
  it('offers that certainly cross: exactly one working connection, 50 times in a row', async () => {
    let rollbacks = 0;
    let ignored = 0;
    for (let round = 0; round < 50; round++) {
      const r = await glareRound(round, {}, true);
      rollbacks += r.rollbacks;
      ignored += r.ignored;
    }
    // Every round: the polite side rolled its offer back, the impolite side ignored the polite offer.
    expect(rollbacks).toBe(50);
    expect(ignored).toBe(50);
  });

  it('natural timing, instant signaling: exactly one working connection, 30 times', async () => {
    for (let round = 0; round < 30; round++) await glareRound(round, {}, false);
  });

  it('delayed, reordering signaling: exactly one working connection, 30 times', async () => {
    for (let round = 0; round < 30; round++) await glareRound(round, { delayMs: 2, jitterMs: 15 }, round % 2 === 0);
  });
});
