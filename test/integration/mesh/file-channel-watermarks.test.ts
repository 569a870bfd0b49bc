/**
 * The file channel's watermarks on a real @roamhq/wrtc channel: polled (wrtc never fires
 * `bufferedamountlow`) it keeps up to 4 MiB queued and asks for room again at 1 MiB, so a poll that
 * comes late still finds bytes to send; event-driven (Chromium) it stays between 256 KiB and 1 MiB.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemorySignalingBus } from '../../../src/renderer/mesh/memory-signaling';
import { FILE_CHANNEL_HIGH_WATER, POLLED_HIGH_WATER, POLLED_LOW_WATER, wrapDataChannel, type DrainMode } from '../../../src/renderer/mesh/file-channel';
import { ALICE, BOB, type TestPeer, connected, startPeer, stopPeer, waitFor } from './harness';

const CHUNK = new Uint8Array(64 * 1024);
let bus: MemorySignalingBus;
let peers: TestPeer[] = [];
afterEach(() => {
  for (const p of peers) stopPeer(bus, p);
  peers = [];
});

/** Sends 64 KiB chunks in one turn until the channel says it is full; returns the bytes queued then. */
async function queuedWhenFull(drain: DrainMode): Promise<{ sent: number; buffered: number; lowAfterRoom: number }> {
  bus = new MemorySignalingBus();
  const a = startPeer(bus, ALICE);
  const b = startPeer(bus, BOB);
  peers = [a, b];
  a.mesh.connect(BOB);
  await waitFor('connected', () => connected(a, b));
  const ch = wrapDataChannel(a.mesh.openChannel(BOB, `file:watermarks-${drain}`)!, { drain });
  expect(await ch.opened()).toBe(true);
  let sent = 0;
  while (!ch.full && sent < 64 * 1024 * 1024) {
    expect(ch.send(CHUNK)).toBe(true);
    sent += CHUNK.length;
  }
  const buffered = ch.bufferedAmount;
  await ch.room();
  return { sent, buffered, lowAfterRoom: ch.bufferedAmount };
}

describe('file channel watermarks (real WebRTC)', () => {
  it('polled: full only past 4 MiB queued, room again at 1 MiB', async () => {
    const r = await queuedWhenFull('poll');
    expect(r.sent).toBeGreaterThan(POLLED_HIGH_WATER);
    expect(r.buffered).toBeGreaterThan(POLLED_HIGH_WATER);
    expect(r.lowAfterRoom).toBeLessThanOrEqual(POLLED_LOW_WATER);
  });

  it('event-driven (the Chromium mode; the slow safety poll stands in for the event wrtc lacks): full past 1 MiB', async () => {
    const r = await queuedWhenFull('event');
    expect(r.sent).toBeGreaterThan(FILE_CHANNEL_HIGH_WATER);
    expect(r.sent).toBeLessThan(POLLED_HIGH_WATER);
  });
});
