import { afterEach, describe, expect, it } from 'vitest';
import type { SignalKind } from '../../../src/renderer/mesh';
import { MemorySignalingBus } from '../../../src/renderer/mesh/memory-signaling';
import { ALICE, BOB, CAROL, WrtcPeerConnection, type TestPeer, connected, exchange, livePeerConnections, startPeer, stopPeer, waitFor } from './harness';

const DAVE = 'd'.repeat(64);
let bus: MemorySignalingBus;
let peers: TestPeer[] = [];
afterEach(() => {
  for (const p of peers) stopPeer(bus, p);
  peers = [];
});

/** A real SDP from a scratch connection, to build descriptions that parse but do not belong. */
async function foreignOfferSdp(): Promise<string> {
  const pc = new WrtcPeerConnection();
  pc.createDataChannel('x');
  const offer = await pc.createOffer();
  pc.close();
  if (!offer.sdp) throw new Error('no sdp');
  return offer.sdp;
}

async function connectedPair(): Promise<[TestPeer, TestPeer]> {
  bus = new MemorySignalingBus();
  const a = startPeer(bus, ALICE, { connectTimeoutMs: 2_000, reconnectScheduleMs: [60_000] });
  const b = startPeer(bus, BOB);
  peers = [a, b];
  a.mesh.connect(BOB);
  await waitFor('connected', () => connected(a, b));
  return [a, b];
}

describe('mesh: hostile signaling and frames', () => {
  it('malformed payloads are refused with a reason and counted; the chat keeps working', async () => {
    const [a, b] = await connectedPair();
    const cases: [SignalKind | string, unknown, string][] = [
      ['offer', null, 'malformed-payload'],
      ['offer', 'v=0', 'malformed-payload'],
      ['offer', {}, 'malformed-payload'],
      ['offer', { sdp: 5 }, 'malformed-payload'],
      ['offer', { sdp: { type: 'answer', sdp: 'v=0' } }, 'malformed-payload'],
      ['answer', { sdp: { type: 'answer', sdp: 'x'.repeat(70_000) } }, 'malformed-payload'],
      ['offer', { sdp: { type: 'offer', sdp: 'v=0\r\ns=-\r\n' } }, 'malformed-payload'], // no o= line
      ['iceCandidate', { candidate: 5 }, 'malformed-payload'],
      ['iceCandidate', { candidate: { candidate: 7 } }, 'malformed-payload'],
      ['iceCandidate', { candidate: { candidate: 'x'.repeat(5_000) } }, 'malformed-payload'],
      ['iceCandidate', undefined, 'malformed-payload'],
      ['bye', {}, 'unknown-kind'],
      ['__proto__', {}, 'unknown-kind'],
    ];
    for (const [kind, payload] of cases) await a.mesh.handleSignal(BOB, kind as SignalKind, payload);
    await a.mesh.handleSignal(ALICE, 'offer', { sdp: { type: 'offer', sdp: await foreignOfferSdp() } });
    const expected: Record<string, number> = { 'bad-sender': 1 };
    for (const [, , reason] of cases) expected[reason] = (expected[reason] ?? 0) + 1;
    expect(a.mesh.stats().rejectReasons).toEqual(expected);
    expect(a.mesh.stats().signalsRejected).toBe(cases.length + 1);
    expect(a.mesh.state(BOB)).toBe('CONNECTED');
    await exchange(a, b, 'still-fine');
  });

  it('answer without an offer, bogus candidates and a stranger\'s broken offer: refused, counted, nothing left behind', async () => {
    const [a, b] = await connectedPair();
    const sdp = await foreignOfferSdp();
    // From a peer we have no connection with.
    await a.mesh.handleSignal(CAROL, 'answer', { sdp: { type: 'answer', sdp } });
    // From the connected peer while we are 'stable' (a new remote session, so not merely stale).
    await a.mesh.handleSignal(BOB, 'answer', { sdp: { type: 'answer', sdp } });
    // Candidates that cannot be added.
    await a.mesh.handleSignal(BOB, 'iceCandidate', { candidate: { candidate: 'candidate:garbage', sdpMid: '0', sdpMLineIndex: 0 } });
    await a.mesh.handleSignal(BOB, 'iceCandidate', {
      candidate: { candidate: 'candidate:1 1 udp 2122260223 10.9.9.9 9 typ host', sdpMid: 'no-such-mid', sdpMLineIndex: 7 },
    });
    // End-of-candidates is legal and ignored.
    await a.mesh.handleSignal(BOB, 'iceCandidate', { candidate: null });
    // A stranger's offer that parses but is not a valid description.
    const broken = sdp.replace(/^m=application.*$/m, 'm=application banana');
    await a.mesh.handleSignal(DAVE, 'offer', { sdp: { type: 'offer', sdp: broken } });
    expect(a.mesh.stats().rejectReasons).toEqual({ 'unexpected-answer': 2, 'bad-candidate': 2, 'bad-description': 1 });
    expect(a.mesh.state(DAVE)).toBe('DISCONNECTED');
    expect(a.mesh.peers().map((p) => p.userId)).toEqual([BOB]);
    expect(livePeerConnections(a.pcs)).toBe(1);
    expect(a.mesh.state(BOB)).toBe('CONNECTED');
    await exchange(a, b, 'unharmed');
  });

  it('candidates and offers from strangers are bounded', async () => {
    bus = new MemorySignalingBus();
    const a = startPeer(bus, ALICE, { maxPeers: 1 });
    const b = startPeer(bus, BOB);
    peers = [a, b];
    for (let i = 0; i < 40; i++) {
      await a.mesh.handleSignal(DAVE, 'iceCandidate', { candidate: { candidate: `candidate:${i} 1 udp 1 10.0.0.1 ${1000 + i} typ host`, sdpMid: '0' } });
    }
    expect(a.mesh.stats().candidatesBuffered).toBe(32);
    expect(a.mesh.stats().rejectReasons['candidate-overflow']).toBe(8);
    a.mesh.connect(BOB);
    await waitFor('connected', () => connected(a, b));
    await a.mesh.handleSignal(CAROL, 'offer', { sdp: { type: 'offer', sdp: await foreignOfferSdp() } });
    expect(a.mesh.stats().peersRefused).toBe(1);
    expect(a.mesh.stats().rejectReasons['peer-limit']).toBe(1);
    expect(a.mesh.peers().map((p) => p.userId)).toEqual([BOB]);
    await exchange(a, b, 'bounded');
  });

  it('a throwing listener is counted and reported, and the other listeners still get the frame', async () => {
    bus = new MemorySignalingBus();
    const errors: string[] = [];
    const a = startPeer(bus, ALICE, { onListenerError: (error, event) => errors.push(`${event}: ${(error as Error).message}`) });
    const b = startPeer(bus, BOB);
    peers = [a, b];
    a.mesh.on('frame', () => {
      throw new Error('listener bug');
    });
    const seen: string[] = [];
    a.mesh.on('frame', (_from, frame) => seen.push(frame));
    a.mesh.connect(BOB);
    await waitFor('connected', () => connected(a, b));
    b.mesh.send(ALICE, 'one');
    await waitFor('frame', () => seen.includes('one'));
    expect(a.mesh.stats().listenerErrors).toBe(1);
    expect(errors).toEqual(['frame: listener bug']);
  });
});
