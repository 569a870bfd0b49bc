import { afterEach, describe, expect, it } from 'vitest';
import type { MeshSignaling } from '../../../src/renderer/mesh';
import { MemorySignalingBus } from '../../../src/renderer/mesh/memory-signaling';
import { ALICE, BOB, type TestPeer, connected, exchange, livePeerConnections, startPeer, stopPeer, waitFor } from './harness';

let bus: MemorySignalingBus;
let peers: TestPeer[] = [];
afterEach(() => {
  for (const p of peers) stopPeer(bus, p);
  peers = [];
});

const SHORT = [100, 100, 100, 100, 100];

function statesSince(peer: TestPeer, index: number): string[] {
  return peer.states.slice(index).map((s) => `${s.state}${s.attempt ? ` ${s.attempt}` : ''}`);
}

describe('mesh: reconnection', () => {
  it('peer goes away: RECONNECTING with attempt numbers, CONNECTED again when it returns', async () => {
    bus = new MemorySignalingBus();
    const a = startPeer(bus, ALICE, { reconnectScheduleMs: SHORT, connectTimeoutMs: 2_000 });
    const b = startPeer(bus, BOB);
    peers = [a, b];
    a.mesh.connect(BOB);
    await waitFor('connected', () => connected(a, b));
    const mark = a.states.length;
    stopPeer(bus, b);
    peers = [a];
    await waitFor('attempt 2', () => a.mesh.peers()[0]?.attempt === 2);
    expect(a.closes).toEqual([BOB]);
    const b2 = startPeer(bus, BOB); // comes back passively: Alice's next attempt reaches it
    peers = [a, b2];
    await waitFor('reconnected', () => connected(a, b2));
    await exchange(a, b2, 'back');
    const seen = statesSince(a, mark);
    expect(seen.slice(0, 2)).toEqual(['RECONNECTING 1', 'RECONNECTING 2']);
    expect(seen.at(-1)).toBe('CONNECTED');
    expect(seen).not.toContain('FAILED');
    expect(a.mesh.peers()).toMatchObject([{ userId: BOB, state: 'CONNECTED', attempt: 0 }]);
    expect(a.opens).toEqual([BOB, BOB]);
    expect(livePeerConnections(a.pcs)).toBe(1);
    expect(a.mesh.stats().attemptTimeouts).toBeGreaterThanOrEqual(1);
  });

  for (const [returning, staying] of [[ALICE, BOB], [BOB, ALICE]] as const) {
    it(`returning peer connects itself (${returning === ALICE ? 'polite' : 'impolite'} side returns) without waiting for a timeout`, async () => {
      bus = new MemorySignalingBus();
      // A long attempt timeout: the pending offer of the staying side was lost, and only
      // perfect negotiation (plus repeating the impolite offer) can connect within this attempt.
      const stay = startPeer(bus, staying, { reconnectScheduleMs: SHORT, connectTimeoutMs: 30_000 });
      const away = startPeer(bus, returning);
      peers = [stay, away];
      stay.mesh.connect(returning);
      await waitFor('connected', () => connected(stay, away));
      stopPeer(bus, away);
      peers = [stay];
      await waitFor('attempt 1 offer sent', () => stay.mesh.peers()[0]?.attempt === 1 && stay.pcs.length === 2
        && stay.pcs[1]?.signalingState === 'have-local-offer');
      const back = startPeer(bus, returning);
      peers = [stay, back];
      back.mesh.connect(staying);
      await waitFor('reconnected', () => connected(stay, back), 25_000);
      await exchange(stay, back, 'again');
      expect(stay.mesh.stats().attemptTimeouts).toBe(0);
      expect(livePeerConnections(stay.pcs)).toBe(1);
      expect(livePeerConnections(back.pcs)).toBe(1);
      expect(stay.mesh.recentRejections()).toEqual([]);
      expect(back.mesh.recentRejections()).toEqual([]);
    });
  }

  it('peer never returns: FAILED after 5 attempts, then retry() connects', async () => {
    bus = new MemorySignalingBus();
    const a = startPeer(bus, ALICE, { reconnectScheduleMs: [50, 50, 50, 50, 50], connectTimeoutMs: 300 });
    const b = startPeer(bus, BOB);
    peers = [a, b];
    a.mesh.connect(BOB);
    await waitFor('connected', () => connected(a, b));
    const mark = a.states.length;
    stopPeer(bus, b);
    peers = [a];
    await waitFor('FAILED', () => a.mesh.state(BOB) === 'FAILED');
    expect(statesSince(a, mark)).toEqual(['RECONNECTING 1', 'RECONNECTING 2', 'RECONNECTING 3', 'RECONNECTING 4', 'RECONNECTING 5', 'FAILED 5']);
    expect(a.pcs.length).toBe(6); // the first connection plus one per attempt
    expect(livePeerConnections(a.pcs)).toBe(0);
    expect(a.mesh.stats().attemptTimeouts).toBe(5);
    // Stays FAILED: no more attempts, connect() does not restart it.
    a.mesh.connect(BOB);
    await new Promise((r) => setTimeout(r, 400));
    expect(a.mesh.state(BOB)).toBe('FAILED');
    expect(a.pcs.length).toBe(6);

    const b2 = startPeer(bus, BOB);
    peers = [a, b2];
    const mark2 = a.states.length;
    a.mesh.retry(BOB);
    await waitFor('connected after retry', () => connected(a, b2));
    await exchange(a, b2, 'retried');
    expect(statesSince(a, mark2)[0]).toBe('SIGNALING');
    expect(a.states.at(-1)).toEqual({ userId: BOB, state: 'CONNECTED', attempt: 0 });
  });

  for (const [label, busOpts] of [['instant', {}], ['delayed, reordering', { delayMs: 2, jitterMs: 20 }]] as const) {
  it(`both sides lose the connection at once and reconnect at once (${label} signaling): one connection, 10 times`, async () => {
    bus = new MemorySignalingBus(busOpts);
    const a = startPeer(bus, ALICE, { reconnectScheduleMs: [20, 20, 20, 20, 20], connectTimeoutMs: 10_000 });
    const b = startPeer(bus, BOB, { reconnectScheduleMs: [20, 20, 20, 20, 20], connectTimeoutMs: 10_000 });
    peers = [a, b];
    a.mesh.connect(BOB);
    await waitFor('connected', () => connected(a, b));
    for (let round = 1; round <= 10; round++) {
      // Cut the transport under both meshes in the same tick (as a network failure would).
      const pa = a.pcs.at(-1);
      const pb = b.pcs.at(-1);
      pa?.close();
      pb?.close();
      await waitFor(`round ${round}: both noticed`, () => a.closes.length === round && b.closes.length === round);
      await waitFor(`round ${round}: reconnected`, () => connected(a, b));
      await exchange(a, b, `round${round}`);
      expect(livePeerConnections(a.pcs)).toBe(1);
      expect(livePeerConnections(b.pcs)).toBe(1);
      expect(a.opens.length).toBe(round + 1);
      expect(b.opens.length).toBe(round + 1);
    }
    expect(a.inbandChannels() + b.inbandChannels()).toBe(0);
    expect(a.mesh.stats().attemptTimeouts + b.mesh.stats().attemptTimeouts).toBe(0);
  });
  }

  it('peer restarts while we still think we are connected: its new offer replaces our connection', async () => {
    bus = new MemorySignalingBus();
    let oldBobMuted = false;
    const bobEndpoint = bus.endpoint(BOB);
    const mutableSignaling: MeshSignaling = { send: (to, kind, payload) => { if (!oldBobMuted) bobEndpoint.send(to, kind, payload); } };
    const a = startPeer(bus, ALICE, { reconnectScheduleMs: SHORT });
    const oldBob = startPeer(bus, BOB, { signaling: mutableSignaling, reconnectScheduleMs: [60_000] });
    peers = [a, oldBob];
    a.mesh.connect(BOB);
    await waitFor('connected', () => connected(a, oldBob));
    // Bob's process "hangs": its connection stays up, it sends nothing; a new Bob starts.
    oldBobMuted = true;
    bus.detach(BOB);
    const mark = a.states.length;
    const newBob = startPeer(bus, BOB);
    peers = [a, oldBob, newBob];
    newBob.mesh.connect(ALICE);
    await waitFor('connected to the new Bob', () => connected(a, newBob));
    await exchange(a, newBob, 'new');
    expect(a.mesh.stats().remoteRestarts).toBe(1);
    expect(statesSince(a, mark)).toEqual(['RECONNECTING 1', 'CONNECTED']);
    expect(a.closes).toEqual([BOB]);
    expect(a.opens).toEqual([BOB, BOB]);
    expect(livePeerConnections(a.pcs)).toBe(1);
  });

  it('default schedule is 1, 2, 4, 8, 16 s through the injected timers', async () => {
    bus = new MemorySignalingBus();
    // Injected timers record the requested delay and run 100x faster.
    const requested: number[] = [];
    const a = startPeer(bus, ALICE, {
      setTimeout: (fn, ms) => {
        requested.push(ms);
        return setTimeout(fn, ms / 100);
      },
      clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      connectTimeoutMs: 50_000,
    });
    const b = startPeer(bus, BOB);
    peers = [a, b];
    a.mesh.connect(BOB);
    await waitFor('connected', () => connected(a, b));
    stopPeer(bus, b);
    peers = [a];
    await waitFor('FAILED', () => a.mesh.state(BOB) === 'FAILED', 30_000);
    const backoffs = requested.filter((ms) => ms !== 50_000);
    expect(backoffs).toEqual([1000, 2000, 4000, 8000, 16000]);
    expect(a.mesh.stats().attemptTimeouts).toBe(5);
  });
});
