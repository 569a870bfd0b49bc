/**
 * Soak child: one long-lived headless peer (the product's nodeMeshFactory mesh on @roamhq/wrtc)
 * and another peer that reconnects to it N times, each time as a fresh mesh (a restarted
 * process, as far as the long-lived peer can tell). Nothing here keeps RTCPeerConnections
 * alive: whatever the product drops is garbage-collected, forced every cycle with --expose-gc.
 *
 * Prints one JSON line per 50 cycles and {"done":true,...} at the end. A native fault ends the
 * process by a signal, which the parent counts as a crash.
 *
 *   node --expose-gc --import tsx test/soak/wrtc-reconnect-soak.ts 1000
 */
import { nodeMeshFactory, retiredConnections } from '../../src/main/host/node-mesh';
import { MemorySignalingBus } from '../../src/renderer/mesh/memory-signaling';
import type { MeshLike } from '../../src/main/host/transport';

const CYCLES = Number(process.argv[2] ?? 100);
const A = 'a'.repeat(63) + '1';
const B = 'b'.repeat(63) + '2';
const gc = (globalThis as { gc?: () => void }).gc;

function until(what: string, predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (predicate()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

function meshFor(bus: MemorySignalingBus, id: string): MeshLike {
  const mesh = nodeMeshFactory(bus.endpoint(id), id, []);
  bus.attach(id, mesh);
  return mesh;
}

async function main(): Promise<void> {
  const bus = new MemorySignalingBus();
  const a = meshFor(bus, A);
  let received = 0;
  a.on('frame', () => { received++; });
  const started = Date.now();
  for (let i = 1; i <= CYCLES; i++) {
    const b = meshFor(bus, B);
    let echoed = false;
    b.on('frame', () => { echoed = true; });
    // Alternate who dials, so both the offering and the answering side churn; every third cycle
    // both dial at once (glare) and the other peer goes away mid-negotiation.
    if (i % 3 === 0) {
      a.connect(B);
      b.connect(A);
      await new Promise((r) => setTimeout(r, i % 20));
      bus.detach(B);
      b.close();
      a.disconnect(B);
      gc?.();
      continue;
    }
    if (i % 2 === 0) b.connect(A);
    else a.connect(B);
    await until(`cycle ${i} connected`, () => a.state(B) === 'CONNECTED' && b.state(A) === 'CONNECTED');
    const before = received;
    await until(`cycle ${i} frame`, () => {
      b.send(A, `ping ${i}`);
      a.send(B, `pong ${i}`);
      return received > before && echoed;
    });
    bus.detach(B);
    b.close();
    a.disconnect(B);
    gc?.();
    if (i % 50 === 0) {
      process.stdout.write(`${JSON.stringify({ cycle: i, rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20), seconds: Math.round((Date.now() - started) / 1000) })}\n`);
    }
  }
  a.close();
  gc?.();
  await new Promise((r) => setTimeout(r, 500));
  gc?.();
  process.stdout.write(`${JSON.stringify({ done: true, cycles: CYCLES, retired: retiredConnections.size, rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20), seconds: Math.round((Date.now() - started) / 1000) })}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stdout.write(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`);
  process.exit(2);
});
