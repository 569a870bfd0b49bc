import { afterEach, describe, expect, it } from 'vitest';
import { MAX_FRAME_BYTES } from '../../../src/renderer/mesh';
import { MemorySignalingBus } from '../../../src/renderer/mesh/memory-signaling';
import { ALICE, BOB, CAROL, type TestPeer, connected, exchange, livePeerConnections, startPeer, stopPeer, waitFor } from './harness';

let bus: MemorySignalingBus;
let peers: TestPeer[] = [];
afterEach(() => {
  for (const p of peers) stopPeer(bus, p);
  peers = [];
});

describe('mesh: connecting', () => {
  it('two peers connect and exchange frames both ways', async () => {
    bus = new MemorySignalingBus();
    const a = startPeer(bus, ALICE);
    const b = startPeer(bus, BOB);
    peers = [a, b];
    expect(a.mesh.state(BOB)).toBe('DISCONNECTED');
    a.mesh.connect(BOB);
    a.mesh.connect(BOB); // idempotent
    expect(a.mesh.state(BOB)).toBe('SIGNALING');
    await waitFor('connected', () => connected(a, b));
    expect(a.opens).toEqual([BOB]);
    expect(b.opens).toEqual([ALICE]);
    for (let i = 0; i < 20; i++) await exchange(a, b, `m${i}`);
    // Order on a reliable ordered channel.
    const fromA = b.frames.filter((f) => f.from === ALICE).map((f) => f.frame);
    expect(fromA).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}:${ALICE.slice(0, 4)}→${BOB.slice(0, 4)}`));
    // CONNECTING may be skipped when the channel opens before the answer's promise settles (busy machine).
    expect(a.states.map((s) => s.state).filter((s) => s !== 'CONNECTING')).toEqual(['SIGNALING', 'CONNECTED']);
    expect(b.states.at(-1)).toEqual({ userId: ALICE, state: 'CONNECTED', attempt: 0 });
    // the pair in use is read from getStats() at open (in one process: host candidates)
    const listed = a.mesh.peers();
    expect(listed).toMatchObject([{ userId: BOB, state: 'CONNECTED', attempt: 0 }]);
    if (listed[0]?.candidatePair) expect(listed[0].candidatePair).toMatchObject({ local: { type: 'host', protocol: 'udp' }, remote: { protocol: 'udp' } });
    expect(livePeerConnections(a.pcs)).toBe(1);
    expect(livePeerConnections(b.pcs)).toBe(1);
    expect(a.inbandChannels() + b.inbandChannels()).toBe(0);
    expect(a.mesh.stats().signalsRejected + b.mesh.stats().signalsRejected).toBe(0);
    expect(a.mesh.stats().framesSent).toBe(20);
    expect(b.mesh.stats().framesReceived).toBe(20);
  });

  it('enforces the 64 KiB frame limit on send and on receive', async () => {
    bus = new MemorySignalingBus();
    const a = startPeer(bus, ALICE);
    // Bob's mesh is configured to send larger frames, as a hostile or buggy peer might.
    const b = startPeer(bus, BOB, { maxFrameBytes: 200 * 1024 });
    peers = [a, b];
    b.mesh.connect(ALICE);
    await waitFor('connected', () => connected(a, b));
    const atLimit = 'x'.repeat(MAX_FRAME_BYTES);
    const overLimit = 'x'.repeat(MAX_FRAME_BYTES + 1);
    const overInUtf8 = 'é'.repeat(MAX_FRAME_BYTES / 2 + 1); // fewer chars than the limit, more bytes
    expect(a.mesh.send(BOB, overLimit)).toBe(false);
    expect(a.mesh.send(BOB, overInUtf8)).toBe(false);
    expect(a.mesh.stats().sendsRefusedOversize).toBe(2);
    expect(b.mesh.send(ALICE, overLimit)).toBe(true);
    expect(b.mesh.send(ALICE, atLimit)).toBe(true);
    expect(b.mesh.send(ALICE, 'after')).toBe(true);
    await waitFor('frames after the oversize one', () => a.frames.some((f) => f.frame === 'after'));
    expect(a.frames.map((f) => f.frame.length)).toEqual([MAX_FRAME_BYTES, 5]);
    expect(a.mesh.stats().framesDroppedOversize).toBe(1);
    expect(a.mesh.send(BOB, atLimit)).toBe(true);
    await waitFor('frame at the limit', () => b.frames.some((f) => f.frame.length === MAX_FRAME_BYTES));
  });

  it('three peers form a full mesh', async () => {
    bus = new MemorySignalingBus({ delayMs: 1, jitterMs: 5 });
    const a = startPeer(bus, ALICE);
    const b = startPeer(bus, BOB);
    const c = startPeer(bus, CAROL);
    peers = [a, b, c];
    a.mesh.connect(BOB);
    b.mesh.connect(CAROL);
    c.mesh.connect(ALICE);
    await waitFor('full mesh', () => connected(a, b) && connected(b, c) && connected(c, a));
    await exchange(a, b, 'ab');
    await exchange(b, c, 'bc');
    await exchange(c, a, 'ca');
    for (const p of peers) {
      expect(p.mesh.peers().map((x) => x.state)).toEqual(['CONNECTED', 'CONNECTED']);
      expect(livePeerConnections(p.pcs)).toBe(2);
      expect(p.inbandChannels()).toBe(0);
    }
  });

  it('disconnect() closes one link and reports it; the peer sees the loss', async () => {
    bus = new MemorySignalingBus();
    const a = startPeer(bus, ALICE);
    const b = startPeer(bus, BOB, { reconnectScheduleMs: [60_000] });
    peers = [a, b];
    a.mesh.connect(BOB);
    await waitFor('connected', () => connected(a, b));
    a.mesh.disconnect(BOB);
    expect(a.mesh.state(BOB)).toBe('DISCONNECTED');
    expect(a.closes).toEqual([BOB]);
    expect(a.mesh.send(BOB, 'x')).toBe(false);
    expect(livePeerConnections(a.pcs)).toBe(0);
    await waitFor('bob notices', () => b.mesh.state(ALICE) === 'RECONNECTING');
    expect(b.closes).toEqual([ALICE]);
    expect(b.states.at(-1)).toEqual({ userId: ALICE, state: 'RECONNECTING', attempt: 1 });
  });

  it('the host candidates travel inside the offer and the answer, and are not trickled again', async () => {
    bus = new MemorySignalingBus();
    const sent: { kind: string; from: string; sdp?: string; candidate?: string }[] = [];
    bus.tap((m) => {
      const p = m.payload as { sdp?: { sdp?: string }; candidate?: { candidate?: string } | null };
      sent.push({ kind: m.kind, from: m.from, ...(p.sdp?.sdp ? { sdp: p.sdp.sdp } : {}), ...(p.candidate?.candidate ? { candidate: p.candidate.candidate } : {}) });
    });
    // A generous cap, so a loaded machine can't make the description leave before its candidates.
    const a = startPeer(bus, ALICE, { candidateHoldMs: 10_000 });
    const b = startPeer(bus, BOB, { candidateHoldMs: 10_000 });
    peers = [a, b];
    a.mesh.connect(BOB);
    await waitFor('connected', () => connected(a, b));
    await exchange(a, b, 'after');
    const keyOf = (c: string) => c.replace(/^a=/, '').split(' ', 6).join(' ');
    for (const [kind, from] of [['offer', ALICE], ['answer', BOB]] as const) {
      const description = sent.find((m) => m.kind === kind && m.from === from);
      const inside = (description?.sdp ?? '').split(/\r?\n/).filter((l) => l.startsWith('a=candidate:')).map(keyOf);
      expect(inside.length, `${kind} carries candidates`).toBeGreaterThan(0);
      const trickled = sent.filter((m) => m.kind === 'iceCandidate' && m.from === from).map((m) => keyOf(m.candidate ?? ''));
      expect(trickled.filter((k) => inside.includes(k)), `${kind}'s candidates sent again`).toEqual([]);
    }
    expect(a.mesh.stats().signalsRejected + b.mesh.stats().signalsRejected).toBe(0);
  });
});
