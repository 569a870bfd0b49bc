/**
 * Chat benchmark (issues 3 and 11), each figure beside a baseline measured in the same run:
 *   1. connection setup: first offer → data channel open on both sides, through Mosquitto and
 *      through the embedded broker (a `parley server` process), against the same negotiation
 *      in-process with no broker. Bar (issue 11): embedded ≤ 2× in-process.
 *   2. delivery latency: send → `delivered` between two headless peer processes, against a raw
 *      echo to a second process paced like the product (an idle gap of the product's p50 between
 *      round trips), with the in-process tight-loop echo as the physical floor.
 *      Bars: p50 ≤ 2× the two-process echo + 1 ms; p99 ≤ 4× p50.
 *   3. throughput: signed, verified, stored and ACKed messages/s between two headless peers,
 *      against the raw unsigned data-channel message rate. Bars: ≥ 3,000/s and ≥ 50% of raw.
 * Every figure is the median of --runs (default 3) whole runs, with min–max, and the load average.
 * Usage: npx tsx bench/chat.bench.ts [--quick] [--runs N] [--broker URL]
 * Writes bench/results/chat.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import wrtc from '@roamhq/wrtc';
import { nodeSigner } from '../src/main/crypto/node-signer';
import { cachedSharedKey } from '../src/main/host/contact-keys';
import { useSharedKeyDerivation } from '../src/shared/box';
import { fromWireSignal, toWireSignal } from '../src/main/host/wire-signal';
import { MqttSignaling } from '../src/main/signaling/mqtt-signaling';
import { Mesh } from '../src/renderer/mesh';
import { generateIdentity, newDeviceId } from '../src/shared/identity';
import { withTimeout } from '../src/shared/timeout';
import { befriend, HeadlessPeer, tempProfile } from '../test/helpers/headless-peer';
import { startServerProcess } from '../test/helpers/parley-server';
import { spread, type Spread } from './lib/stats';
import { measureInProcessNegotiation, measureRawEcho, measureRawRate, measureTwoProcessEcho, type LatencySummary } from './mesh-baseline';
import os from 'node:os';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const broker = args.includes('--broker') ? String(args[args.indexOf('--broker') + 1]) : 'mqtt://127.0.0.1:1883';
const RUNS = Math.max(quick ? 1 : 3, Number(args.includes('--runs') ? args[args.indexOf('--runs') + 1] : 0) || 0);
const SETUP_RUNS = quick ? 5 : 20;
const LATENCY_SAMPLES = quick ? 50 : 300;
const THROUGHPUT_MESSAGES = quick ? 1000 : 5000;
const RAW_RATE_MESSAGES = quick ? 5000 : 20000;
const PAYLOAD_TEXT = 'x'.repeat(100);

function summarize(samples: number[]): LatencySummary {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { samples: s.length, p50Ms: at(0.5), p95Ms: at(0.95), p99Ms: at(0.99), meanMs: s.reduce((a, b) => a + b, 0) / s.length };
}

// Seal and open signaling with the host's key derivation (libsodium where it loads): every setup
// here is between two new identities, so each side derives its key once, as for a new contact.
useSharedKeyDerivation(cachedSharedKey);

async function measureSetupThroughBroker(runs: number, url: string): Promise<LatencySummary> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await oneSetup(url));
  return summarize(samples);
}

async function oneSetup(url: string): Promise<number> {
  const ids = [generateIdentity(), generateIdentity()] as const;
  const signals = ids.map((identity) => new MqttSignaling({ url, identity, deviceId: newDeviceId(), signer: nodeSigner }));
  let firstOffer: number | null = null;
  const meshes = ids.map((identity, k) => new Mesh({
    selfId: identity.userId,
    RTCPeerConnection: wrtc.RTCPeerConnection as unknown as typeof RTCPeerConnection,
    signaling: {
      send: (to, kind, payload) => {
        if (kind === 'offer' && firstOffer === null) firstOffer = performance.now();
        signals[k]!.send(to, kind, toWireSignal(kind, payload));
      },
    },
  }));
  signals.forEach((sig, k) => sig.on('message', (m) => {
    if (m.type === 'offer' || m.type === 'answer' || m.type === 'iceCandidate') void meshes[k]!.handleSignal(m.from, m.type, fromWireSignal(m.type, m.body));
  }));
  try {
    signals.forEach((s) => s.start());
    await Promise.all(signals.map((s) => s.whenConnected()));
    const opened = meshes.map((m) => new Promise<number>((r) => m.on('open', () => r(performance.now()))));
    meshes[0]!.connect(ids[1].userId);
    const times = await withTimeout(Promise.all(opened), 30_000, 'connection setup');
    if (firstOffer === null) throw new Error('no offer was sent');
    return Math.max(...times) - firstOffer;
  } finally {
    meshes.forEach((m) => m.close());
    await Promise.all(signals.map((s) => s.stop()));
  }
}

async function measurePeers(): Promise<{ latency: LatencySummary; throughput: { messages: number; seconds: number; perSecond: number } }> {
  const a = await HeadlessPeer.start({ profile: tempProfile('bench-a'), name: 'a', broker });
  const b = await HeadlessPeer.start({ profile: tempProfile('bench-b'), name: 'b', broker });
  try {
    await befriend(a, b);
    // Latency: one message at a time, send → delivered seen by the sender's driver.
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES + 20; i++) {
      const mark = a.lines.length;
      const t0 = performance.now();
      const { id } = await a.ok({ op: 'send', to: b.userId, text: PAYLOAD_TEXT });
      await a.waitFor((l) => l.event === 'status' && l.id === id && l.status === 'delivered', 30_000, mark);
      if (i >= 20) latencies.push(performance.now() - t0);
    }
    // Throughput: a burst of sends written at once; done when every one is delivered.
    const mark = a.lines.length;
    let delivered = 0;
    const allDelivered = a.waitFor((l) => l.event === 'status' && l.status === 'delivered' && ++delivered === THROUGHPUT_MESSAGES, 300_000, mark);
    const t0 = performance.now();
    a.writeRaw(Array.from({ length: THROUGHPUT_MESSAGES }, (_, i) => `${JSON.stringify({ op: 'send', to: b.userId, text: `${i} ${PAYLOAD_TEXT}` })}\n`).join(''));
    await allDelivered;
    const seconds = (performance.now() - t0) / 1000;
    return { latency: summarize(latencies), throughput: { messages: THROUGHPUT_MESSAGES, seconds, perSecond: THROUGHPUT_MESSAGES / seconds } };
  } finally {
    await Promise.all([a.quit(), b.quit()]);
  }
}


const f = (n: number, d = 2): string => n.toFixed(d);

interface RunFigures {
  setupMosquittoP50: number; setupEmbeddedP50: number; setupInProcessP50: number;
  deliveryP50: number; deliveryP99: number; twoProcessEchoP50: number; twoProcessEchoP99: number; tightEchoP50: number;
  throughput: number; rawRate: number;
}

async function oneRun(embeddedUrl: string): Promise<{ figures: RunFigures; detail: Record<string, unknown> }> {
  const setupBroker = await measureSetupThroughBroker(SETUP_RUNS, broker);
  const setupEmbedded = await measureSetupThroughBroker(SETUP_RUNS, embeddedUrl);
  const setupLocal = await measureInProcessNegotiation(SETUP_RUNS);
  const rawEcho = await measureRawEcho(LATENCY_SAMPLES);
  const rawRate = await measureRawRate(RAW_RATE_MESSAGES, 200);
  const peers = await measurePeers();
  // Paced like the product: each round trip after an idle gap as long as a product delivery.
  const twoProcessEcho = await measureTwoProcessEcho(LATENCY_SAMPLES, peers.latency.p50Ms);
  return {
    figures: {
      setupMosquittoP50: setupBroker.p50Ms, setupEmbeddedP50: setupEmbedded.p50Ms, setupInProcessP50: setupLocal.p50Ms,
      deliveryP50: peers.latency.p50Ms, deliveryP99: peers.latency.p99Ms,
      twoProcessEchoP50: twoProcessEcho.p50Ms, twoProcessEchoP99: twoProcessEcho.p99Ms, tightEchoP50: rawEcho.p50Ms,
      throughput: peers.throughput.perSecond, rawRate: rawRate.messagesPerSecond,
    },
    detail: { setup: { mosquitto: setupBroker, embedded: setupEmbedded, inProcess: setupLocal }, delivery: { peers: peers.latency, twoProcessEcho, tightEcho: rawEcho }, throughput: { peers: peers.throughput, raw: rawRate } },
  };
}


async function main(): Promise<void> {
  console.log(`chat benchmark${quick ? ' (quick)' : ''}: ${RUNS} run(s); broker ${broker} and an embedded \`parley server\`; noisy shared machine — compare the ratios`);
  const server = await startServerProcess(['--mqtt', '0']);
  const loadBefore = os.loadavg();
  const runs: Array<{ figures: RunFigures; detail: Record<string, unknown> }> = [];
  try {
    for (let r = 0; r < RUNS; r++) {
      runs.push(await oneRun(String(server.ready.mqtt)));
      console.log(`run ${r + 1}/${RUNS}: ${JSON.stringify(runs[r]!.figures, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v))}`);
    }
  } finally {
    await server.stop();
  }
  const loadAfter = os.loadavg();
  const pick = (fn: (x: RunFigures) => number): Spread => spread(runs.map((r) => fn(r.figures)));
  const m = {
    setupInProcessMs: pick((x) => x.setupInProcessP50),
    setupEmbeddedMs: pick((x) => x.setupEmbeddedP50),
    setupMosquittoMs: pick((x) => x.setupMosquittoP50),
    twoProcessEchoP50: pick((x) => x.twoProcessEchoP50),
    deliveryP99: pick((x) => x.deliveryP99),
    setupMosquittoOverInProcess: pick((x) => x.setupMosquittoP50 / x.setupInProcessP50),
    setupEmbeddedOverInProcess: pick((x) => x.setupEmbeddedP50 / x.setupInProcessP50),
    deliveryP50: pick((x) => x.deliveryP50),
    deliveryP50Budget: pick((x) => 2 * x.twoProcessEchoP50 + 1),
    deliveryP99OverP50: pick((x) => x.deliveryP99 / x.deliveryP50),
    deliveryOverTightEcho: pick((x) => x.deliveryP50 / x.tightEchoP50),
    throughput: pick((x) => x.throughput),
    throughputOverRaw: pick((x) => x.throughput / x.rawRate),
  };
  const bars = {
    setupEmbeddedAtMost2xInProcess: m.setupEmbeddedOverInProcess.median <= 2,
    deliveryP50AtMost2xTwoProcessEchoPlus1ms: m.deliveryP50.median <= m.deliveryP50Budget.median,
    deliveryP99AtMost4xP50: m.deliveryP99OverP50.median <= 4,
    throughputAtLeast3000: m.throughput.median >= 3000,
    throughputAtLeast50PctOfRaw: m.throughputOverRaw.median >= 0.5,
  };
  const show = (x: Spread, d = 2) => `${f(x.median, d)} (${f(x.min, d)}–${f(x.max, d)})`;
  console.log(`\nmedians of ${RUNS} runs (min–max); load average ${loadBefore.map((l) => f(l, 1)).join(' ')} before, ${loadAfter.map((l) => f(l, 1)).join(' ')} after`);
  console.log('| measure | median (min–max) | bar |');
  console.log('|---|---|---|');
  console.log(`| setup p50 (offer → open): in-process / embedded broker / Mosquitto | ${show(m.setupInProcessMs)} / ${show(m.setupEmbeddedMs)} / ${show(m.setupMosquittoMs)} ms | — |`);
  console.log(`| setup p50 via Mosquitto / in-process | ${show(m.setupMosquittoOverInProcess)}× | — |`);
  console.log(`| setup p50 via embedded broker / in-process | ${show(m.setupEmbeddedOverInProcess)}× | ≤ 2×: ${bars.setupEmbeddedAtMost2xInProcess ? 'PASS' : 'FAIL'} |`);
  console.log(`| delivery p50 (send → delivered) | ${show(m.deliveryP50)} ms | ≤ 2× two-process echo + 1 ms = ${show(m.deliveryP50Budget)} ms: ${bars.deliveryP50AtMost2xTwoProcessEchoPlus1ms ? 'PASS' : 'FAIL'} |`);
  console.log(`| two-process raw echo p50 at the product's pacing | ${show(m.twoProcessEchoP50, 3)} ms | — |`);
  console.log(`| delivery p99 | ${show(m.deliveryP99)} ms | — |`);
  console.log(`| delivery p99 / p50 | ${show(m.deliveryP99OverP50)}× | ≤ 4×: ${bars.deliveryP99AtMost4xP50 ? 'PASS' : 'FAIL'} |`);
  console.log(`| delivery p50 / in-process tight echo (the floor) | ${show(m.deliveryOverTightEcho, 1)}× | — |`);
  console.log(`| throughput (delivered msg/s) | ${show(m.throughput, 0)} | ≥ 3,000/s: ${bars.throughputAtLeast3000 ? 'PASS' : 'FAIL'} |`);
  console.log(`| throughput / raw unsigned msg/s | ${show(m.throughputOverRaw)} | ≥ 0.50: ${bars.throughputAtLeast50PctOfRaw ? 'PASS' : 'FAIL'} |`);

  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/chat.json', `${JSON.stringify({
    at: new Date().toISOString(), quick, broker, runs: RUNS, loadAverage: { before: loadBefore, after: loadAfter },
    medians: m, bars, perRun: runs,
  }, null, 2)}\n`);
  console.log('wrote bench/results/chat.json');
}

await main();
process.exit(0);
