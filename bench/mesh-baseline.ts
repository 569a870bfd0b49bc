/**
 * Baselines for the chat benchmark, measured on the bare mesh (@roamhq/wrtc, both ends in this
 * process, in-memory signaling, no broker, no signing, no storage):
 *   measureInProcessNegotiation(n)  first offer handed to signaling → 'open' on both sides
 *   measureRawEcho(n)               unsigned frame → echoed frame back (round trip)
 *   measureRawRate(n, bytes)        one-way unsigned frames/s, flow-controlled by polling bufferedAmount
 *   measureTwoProcessEcho(n, gapMs) the same echo with the far end in another process, and an idle
 *                                   gap between round trips, as the product's two processes have
 *
 * Run directly (`npx tsx bench/mesh-baseline.ts`) to print them and write bench/results/mesh-baseline.json.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as wrtcModule from '@roamhq/wrtc';
import { Mesh, type SignalKind } from '../src/renderer/mesh';
import { wrapDataChannel } from '../src/renderer/mesh/file-channel';
import { MemorySignalingBus } from '../src/renderer/mesh/memory-signaling';
import { cpuSeconds } from './lib/proc';

// CommonJS package: Node's ESM loader exposes it as the default export, bundlers as named exports.
const wrtc = (wrtcModule as { default?: typeof wrtcModule }).default ?? wrtcModule;
const WrtcPeerConnection = wrtc.RTCPeerConnection as typeof RTCPeerConnection;

export interface LatencySummary {
  samples: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  meanMs: number;
}

export interface RateSummary {
  messages: number;
  bytesPerMessage: number;
  seconds: number;
  messagesPerSecond: number;
  mibPerSecond: number;
}

const Ctor = WrtcPeerConnection;
/** Keep at most this much queued on the channel; wrtc never fires 'bufferedamountlow'. */
const HIGH_WATER_BYTES = 1024 * 1024;

export async function measureInProcessNegotiation(n: number): Promise<LatencySummary> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const pair = await openPair(`neg${i}`);
    samples.push(pair.negotiationMs);
    pair.close();
  }
  return summarize(samples);
}

export async function measureRawEcho(n: number, warmup = Math.min(50, n)): Promise<LatencySummary> {
  const pair = await openPair('echo');
  try {
    pair.b.on('frame', (from, frame) => pair.b.send(from, frame));
    let resolveEcho: (() => void) | null = null;
    pair.a.on('frame', () => resolveEcho?.());
    const frame = JSON.stringify({ type: 'ECHO', body: 'x'.repeat(120) }); // about a chat envelope's size
    const samples: number[] = [];
    for (let i = 0; i < warmup + n; i++) {
      const echoed = new Promise<void>((r) => (resolveEcho = r));
      const t0 = performance.now();
      if (!pair.a.send(pair.bId, frame)) throw new Error('echo: channel not open');
      await echoed;
      if (i >= warmup) samples.push(performance.now() - t0);
    }
    return summarize(samples);
  } finally {
    pair.close();
  }
}

export async function measureRawRate(n: number, bytes: number): Promise<RateSummary> {
  const pair = await openPair('rate');
  try {
    const frame = 'x'.repeat(bytes);
    let received = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    pair.b.on('frame', () => {
      if (++received === n) resolveDone();
    });
    const t0 = performance.now();
    // Reading bufferedAmount is a blocking hop to wrtc's network thread, as is each send: read it
    // only when what was sent since the last reading could have filled the queue (as the product's
    // file channel does), so the baseline pays one hop per message, not two.
    let known = 0;
    let sentSince = 0;
    for (let sent = 0; sent < n; sent++) {
      while (known + sentSince > HIGH_WATER_BYTES) {
        known = pair.a.bufferedAmount(pair.bId);
        sentSince = 0;
        if (known > HIGH_WATER_BYTES) await new Promise((r) => setTimeout(r, 1));
      }
      if (!pair.a.send(pair.bId, frame)) throw new Error('rate: channel not open');
      sentSince += bytes;
    }
    await done;
    const seconds = (performance.now() - t0) / 1000;
    return {
      messages: n,
      bytesPerMessage: bytes,
      seconds,
      messagesPerSecond: n / seconds,
      mibPerSecond: (n * bytes) / seconds / (1024 * 1024),
    };
  } finally {
    pair.close();
  }
}

/**
 * Round trips to a bare echo in a second process (bench/two-process-echo-peer.ts), waiting gapMs
 * between them: both processes go idle between messages, as two headless peers do when driven one
 * message at a time. gapMs 0 is the tight loop.
 */
export async function measureTwoProcessEcho(n: number, gapMs: number, warmup = Math.min(50, n)): Promise<LatencySummary> {
  const peerScript = fileURLToPath(new URL('./two-process-echo-peer.ts', import.meta.url));
  const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));
  const child = spawn(process.execPath, [tsx, peerScript, 'echo-b', 'echo-a'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const a = new Mesh({
    selfId: 'echo-a', RTCPeerConnection: Ctor,
    signaling: { send: (_to, kind, payload) => child.stdin.write(`${JSON.stringify({ kind, payload })}\n`) },
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const { kind, payload } = JSON.parse(line) as { kind: SignalKind; payload: unknown };
    void a.handleSignal('echo-b', kind, payload);
  });
  try {
    const open = new Promise<void>((r) => a.on('open', () => r()));
    a.connect('echo-b');
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([open, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('two-process echo: no connection within 30 s')), 30_000); })]);
    clearTimeout(timer);
    let resolveEcho: (() => void) | null = null;
    a.on('frame', () => resolveEcho?.());
    const frame = JSON.stringify({ type: 'ECHO', body: 'x'.repeat(120) });
    const samples: number[] = [];
    for (let i = 0; i < warmup + n; i++) {
      if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      const echoed = new Promise<void>((r) => (resolveEcho = r));
      const t0 = performance.now();
      if (!a.send('echo-b', frame)) throw new Error('two-process echo: channel not open');
      await echoed;
      if (i >= warmup) samples.push(performance.now() - t0);
    }
    return summarize(samples);
  } finally {
    a.close();
    child.stdin.end();
    await new Promise<void>((r) => { if (child.exitCode !== null) r(); else child.once('exit', () => r()); setTimeout(() => { child.kill('SIGKILL'); r(); }, 5000).unref(); });
  }
}

/**
 * One-way bulk rate to a bare mesh in a second process (bench/two-process-sink-peer.ts): `bytes`
 * in 64 KiB binary messages (plus a 5-byte header, as file chunks carry) on an extra channel,
 * flow-controlled by the file path's own channel wrapper and watermarks. This is the raw pipe on
 * the same kind of pair as a file transfer between two peer processes. MiB/s.
 */
export interface BulkResult {
  mibPerSecond: number;
  /** CPU ms per MiB of the sending process (this one) and of the receiving process. */
  cpuMsPerMiB: [number, number];
}


export async function measureTwoProcessBulk(bytes: number): Promise<BulkResult> {
  const n = Math.ceil(bytes / 65536);
  const wire = n * (65536 + 5);
  const peerScript = fileURLToPath(new URL('./two-process-sink-peer.ts', import.meta.url));
  // Node itself with tsx as a loader (not tsx's CLI, which forks): child.pid is the peer, for its CPU time.
  const child = spawn(process.execPath, ['--import', 'tsx', peerScript, 'sink-b', 'sink-a', String(wire)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const a = new Mesh({
    selfId: 'sink-a', RTCPeerConnection: Ctor,
    signaling: { send: (_to, kind, payload) => child.stdin.write(`${JSON.stringify({ kind, payload })}\n`) },
  });
  let resolveGot!: () => void;
  const gotAll = new Promise<void>((r) => (resolveGot = r));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const msg = JSON.parse(line) as { kind?: SignalKind; payload?: unknown; got?: number };
    if (msg.got !== undefined) resolveGot();
    else if (msg.kind) void a.handleSignal('sink-b', msg.kind, msg.payload);
  });
  try {
    const open = new Promise<void>((r) => a.on('open', () => r()));
    a.connect('sink-b');
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([open, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('two-process bulk: no connection within 30 s')), 30_000); })]);
    clearTimeout(timer);
    const ch = wrapDataChannel(a.openChannel('sink-b', 'file:raw')!, { drain: 'poll' });
    if (!(await ch.opened())) throw new Error('two-process bulk: channel did not open');
    const msg = new Uint8Array(65536 + 5);
    const cpu0 = [process.cpuUsage(), cpuSeconds(child.pid)] as const;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      if (ch.full) await ch.room();
      if (!ch.send(msg)) throw new Error('two-process bulk: send failed');
    }
    await gotAll;
    const mib = (n * 65536) / 1048576;
    const own = process.cpuUsage(cpu0[0]);
    return {
      mibPerSecond: mib / ((performance.now() - t0) / 1000),
      cpuMsPerMiB: [(own.user + own.system) / 1000 / mib, ((cpuSeconds(child.pid) - cpu0[1]) * 1000) / mib],
    };
  } finally {
    a.close();
    child.stdin.end();
    await new Promise<void>((r) => { if (child.exitCode !== null) r(); else child.once('exit', () => r()); setTimeout(() => { child.kill('SIGKILL'); r(); }, 5000).unref(); });
  }
}

interface OpenPair {
  a: Mesh;
  b: Mesh;
  bId: string;
  negotiationMs: number;
  close(): void;
}

async function openPair(tag: string): Promise<OpenPair> {
  const bus = new MemorySignalingBus();
  const aId = `a-${tag}`;
  const bId = `b-${tag}`;
  const a = new Mesh({ selfId: aId, RTCPeerConnection: Ctor, signaling: bus.endpoint(aId) });
  const b = new Mesh({ selfId: bId, RTCPeerConnection: Ctor, signaling: bus.endpoint(bId) });
  bus.attach(aId, a);
  bus.attach(bId, b);
  let firstOffer: number | null = null;
  bus.tap((m) => {
    if (m.kind === 'offer' && firstOffer === null) firstOffer = performance.now();
  });
  const opened = (mesh: Mesh) => new Promise<number>((r) => mesh.on('open', () => r(performance.now())));
  const aOpen = opened(a);
  const bOpen = opened(b);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${tag}: no connection within 30 s`)), 30_000);
  });
  const close = () => {
    a.close();
    b.close();
  };
  try {
    a.connect(bId);
    const [ta, tb] = await Promise.race([Promise.all([aOpen, bOpen]), timeout]);
    if (firstOffer === null) throw new Error(`${tag}: channel open without an offer`);
    return { a, b, bId, negotiationMs: Math.max(ta, tb) - firstOffer, close };
  } catch (error) {
    close();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function summarize(samples: number[]): LatencySummary {
  if (samples.length === 0) throw new Error('no samples');
  const sorted = [...samples].sort((x, y) => x - y);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  return {
    samples: sorted.length,
    p50Ms: at(0.5),
    p95Ms: at(0.95),
    p99Ms: at(0.99),
    meanMs: sorted.reduce((s, x) => s + x, 0) / sorted.length,
  };
}

async function main(): Promise<void> {
  const { writeFileSync, mkdirSync } = await import('node:fs');
  const negotiation = await measureInProcessNegotiation(30);
  const echo = await measureRawEcho(1000);
  const rateSmall = await measureRawRate(20_000, 200);
  const rateBulk = await measureRawRate(1_000, 64 * 1024);
  const results = { negotiation, echo, rateSmall, rateBulk, measuredAt: new Date().toISOString() };
  console.log(`negotiation (offer → open, in-process): p50 ${negotiation.p50Ms.toFixed(2)} ms, p95 ${negotiation.p95Ms.toFixed(2)} ms`);
  console.log(`raw echo: p50 ${echo.p50Ms.toFixed(3)} ms, p99 ${echo.p99Ms.toFixed(3)} ms`);
  console.log(`raw rate 200 B: ${rateSmall.messagesPerSecond.toFixed(0)} msg/s`);
  console.log(`raw rate 64 KiB: ${rateBulk.mibPerSecond.toFixed(1)} MiB/s`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/mesh-baseline.json', `${JSON.stringify(results, null, 2)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
