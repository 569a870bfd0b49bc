/**
 * Chat benchmark (issue 3), each figure beside a baseline measured in the same run:
 *   1. connection setup: first offer → data channel open on both sides, through Mosquitto,
 *      against the same negotiation in-process with no broker;
 *   2. delivery latency: send → `delivered` between two headless peer processes, against a raw
 *      data-channel echo;
 *   3. throughput: signed, verified, stored and ACKed messages/s between two headless peers,
 *      against the raw unsigned data-channel message rate. Bar: ≥ 2,000/s and ≥ 20% of raw.
 * Usage: npx tsx bench/chat.bench.ts [--quick] [--broker URL]
 * Writes bench/results/chat.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import wrtc from '@roamhq/wrtc';
import { nodeSigner } from '../src/main/crypto/node-signer';
import { fromWireSignal, toWireSignal } from '../src/main/host/wire-signal';
import { MqttSignaling } from '../src/main/signaling/mqtt-signaling';
import { Mesh } from '../src/renderer/mesh';
import { generateIdentity, newDeviceId } from '../src/shared/identity';
import { withTimeout } from '../src/shared/timeout';
import { befriend, HeadlessPeer, tempProfile } from '../test/helpers/headless-peer';
import { measureInProcessNegotiation, measureRawEcho, measureRawRate, type LatencySummary } from './mesh-baseline';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const broker = args.includes('--broker') ? String(args[args.indexOf('--broker') + 1]) : 'mqtt://127.0.0.1:1883';
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

async function measureSetupThroughBroker(runs: number): Promise<LatencySummary> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await oneSetup());
  return summarize(samples);
}

async function oneSetup(): Promise<number> {
  const ids = [generateIdentity(), generateIdentity()] as const;
  const signals = ids.map((identity) => new MqttSignaling({ url: broker, identity, deviceId: newDeviceId(), signer: nodeSigner }));
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

async function main(): Promise<void> {
  console.log(`chat benchmark${quick ? ' (quick)' : ''}: broker ${broker}; 2-core machine, numbers are noisy — compare the ratios`);
  const setupBroker = await measureSetupThroughBroker(SETUP_RUNS);
  const setupLocal = await measureInProcessNegotiation(SETUP_RUNS);
  const rawEcho = await measureRawEcho(LATENCY_SAMPLES);
  const rawRate = await measureRawRate(RAW_RATE_MESSAGES, 200);
  const peers = await measurePeers();

  const throughputRatio = peers.throughput.perSecond / rawRate.messagesPerSecond;
  const bars = {
    throughputAtLeast2000: peers.throughput.perSecond >= 2000,
    throughputAtLeast20PctOfRaw: throughputRatio >= 0.2,
  };
  console.log('\n| measure | Parley | baseline | ratio |');
  console.log('|---|---|---|---|');
  console.log(`| setup p50 (offer → open), via broker vs in-process | ${f(setupBroker.p50Ms)} ms | ${f(setupLocal.p50Ms)} ms | ${f(setupBroker.p50Ms / setupLocal.p50Ms)}× |`);
  console.log(`| setup p95 | ${f(setupBroker.p95Ms)} ms | ${f(setupLocal.p95Ms)} ms | ${f(setupBroker.p95Ms / setupLocal.p95Ms)}× |`);
  console.log(`| delivery p50 (send → delivered) vs raw echo | ${f(peers.latency.p50Ms)} ms | ${f(rawEcho.p50Ms)} ms | ${f(peers.latency.p50Ms / rawEcho.p50Ms)}× |`);
  console.log(`| delivery p99 vs raw echo | ${f(peers.latency.p99Ms)} ms | ${f(rawEcho.p99Ms)} ms | ${f(peers.latency.p99Ms / rawEcho.p99Ms)}× |`);
  console.log(`| throughput (delivered msg/s) vs raw unsigned msg/s | ${f(peers.throughput.perSecond, 0)} | ${f(rawRate.messagesPerSecond, 0)} | ${f(throughputRatio * 100, 1)}% |`);
  console.log(`\nbar ≥ 2,000 delivered/s: ${bars.throughputAtLeast2000 ? 'PASS' : 'FAIL'}; bar ≥ 20% of raw: ${bars.throughputAtLeast20PctOfRaw ? 'PASS' : 'FAIL'}`);

  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/chat.json', `${JSON.stringify({
    at: new Date().toISOString(), quick, broker,
    setup: { viaBroker: setupBroker, inProcess: setupLocal },
    delivery: { peers: peers.latency, rawEcho },
    throughput: { peers: peers.throughput, raw: rawRate, ratio: throughputRatio },
    bars,
  }, null, 2)}\n`);
  console.log('wrote bench/results/chat.json');
}

await main();
process.exit(0);
