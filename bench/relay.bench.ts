/**
 * Relay benchmark (issue 8 part 3): throughput and latency of A → C through B (peer relay)
 * against a direct connection between the same A and C, measured in the same run. Each run
 * starts three headless peers; A and C can't connect directly (the test ICE filter) until the
 * relay phase is measured, then the filter lifts, the direct path takes over and the same
 * measures run again. Bar: relay throughput ≥ 40% of direct.
 *
 * Usage: npm run bench:relay [-- --runs N --messages N --latency N]
 * Writes bench/results/relay.json (median of the runs, spread, load average).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { openBroker } from '../test/helpers/brokers';
import type { HeadlessPeer } from '../test/helpers/headless-peer';
import { startTrio, statsOf, viaDirect, viaRelay } from '../test/integration/relay/support';

const args = process.argv.slice(2);
const arg = (name: string, dflt: number): number => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const RUNS = arg('--runs', 3);
const MESSAGES = arg('--messages', 3000);
const LATENCY_SAMPLES = arg('--latency', 100);
const PAYLOAD = 'x'.repeat(200);

interface PathMeasure { perSecond: number; seconds: number; p50Ms: number; p95Ms: number }
interface Run { relay: PathMeasure; direct: PathMeasure; ratio: number; relayedFrames: number; load: number[] }

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

async function measure(a: HeadlessPeer, to: string, tag: string): Promise<PathMeasure> {
  const latencies: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES + 10; i++) {
    const mark = a.lines.length;
    const t0 = performance.now();
    const { id } = await a.ok({ op: 'send', to, text: `${tag} ${i} ${PAYLOAD}` }, 60_000);
    await a.waitFor((l) => l.event === 'status' && l.id === id && l.status === 'delivered', 60_000, mark);
    if (i >= 10) latencies.push(performance.now() - t0);
  }
  const mark = a.lines.length;
  let delivered = 0;
  const all = a.waitFor((l) => l.event === 'status' && l.status === 'delivered' && ++delivered === MESSAGES, 600_000, mark);
  const t0 = performance.now();
  a.writeRaw(Array.from({ length: MESSAGES }, (_, i) => `${JSON.stringify({ op: 'send', to, text: `${tag} burst ${i} ${PAYLOAD}` })}\n`).join(''));
  await all;
  const seconds = (performance.now() - t0) / 1000;
  return { perSecond: MESSAGES / seconds, seconds, p50Ms: quantile(latencies, 0.5), p95Ms: quantile(latencies, 0.95) };
}

async function oneRun(broker: string): Promise<Run> {
  const trio = await startTrio({ broker, mailbox: 'none' });
  const { a, b, c } = trio;
  try {
    await Promise.all([viaRelay(a, c.userId), viaRelay(c, a.userId)]);
    const relay = await measure(a, c.userId, 'relay');
    const relayedFrames = (await statsOf(b)).relay.server.framesForwarded ?? 0;
    const since = a.lines.length;
    trio.unblock();
    await a.ok({ op: 'retry', userId: c.userId });
    await viaDirect(a, c.userId, since);
    const direct = await measure(a, c.userId, 'direct');
    return { relay, direct, ratio: relay.perSecond / direct.perSecond, relayedFrames, load: loadavg() };
  } finally {
    await Promise.all(trio.all.map((p) => p.quit()));
  }
}

const f = (n: number, d = 1): string => n.toFixed(d);

async function main(): Promise<void> {
  console.log(`relay benchmark: ${RUNS} runs, ${MESSAGES} messages of ${PAYLOAD.length} chars per burst, ${LATENCY_SAMPLES} latency samples; 2-core shared machine, compare the ratios`);
  const broker = await openBroker('embedded');
  const runs: Run[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const run = await oneRun(broker.url);
      runs.push(run);
      console.log(`run ${i + 1}: relay ${f(run.relay.perSecond, 0)} msg/s (p50 ${f(run.relay.p50Ms, 2)} ms), direct ${f(run.direct.perSecond, 0)} msg/s (p50 ${f(run.direct.p50Ms, 2)} ms), ratio ${f(run.ratio * 100)}%, load ${run.load.map((x) => f(x, 2)).join(' ')}`);
    }
  } finally {
    await broker.close();
  }
  const med = (pick: (r: Run) => number) => quantile(runs.map(pick), 0.5);
  const spread = (pick: (r: Run) => number) => ({ min: Math.min(...runs.map(pick)), max: Math.max(...runs.map(pick)) });
  const summary = {
    relayPerSecond: { median: med((r) => r.relay.perSecond), ...spread((r) => r.relay.perSecond) },
    directPerSecond: { median: med((r) => r.direct.perSecond), ...spread((r) => r.direct.perSecond) },
    ratio: { median: med((r) => r.ratio), ...spread((r) => r.ratio) },
    relayP50Ms: { median: med((r) => r.relay.p50Ms), ...spread((r) => r.relay.p50Ms) },
    directP50Ms: { median: med((r) => r.direct.p50Ms), ...spread((r) => r.direct.p50Ms) },
    relayP95Ms: { median: med((r) => r.relay.p95Ms), ...spread((r) => r.relay.p95Ms) },
    directP95Ms: { median: med((r) => r.direct.p95Ms), ...spread((r) => r.direct.p95Ms) },
  };
  const bar = summary.ratio.median >= 0.4;
  console.log('\n| measure (median of runs, min–max) | relay | direct | relay/direct |');
  console.log('|---|---|---|---|');
  console.log(`| throughput, delivered msg/s | ${f(summary.relayPerSecond.median, 0)} (${f(summary.relayPerSecond.min, 0)}–${f(summary.relayPerSecond.max, 0)}) | ${f(summary.directPerSecond.median, 0)} (${f(summary.directPerSecond.min, 0)}–${f(summary.directPerSecond.max, 0)}) | ${f(summary.ratio.median * 100)}% (${f(summary.ratio.min * 100)}–${f(summary.ratio.max * 100)}%) |`);
  console.log(`| latency p50, send → delivered | ${f(summary.relayP50Ms.median, 2)} ms | ${f(summary.directP50Ms.median, 2)} ms | ${f(summary.relayP50Ms.median / summary.directP50Ms.median, 2)}× |`);
  console.log(`| latency p95 | ${f(summary.relayP95Ms.median, 2)} ms | ${f(summary.directP95Ms.median, 2)} ms | ${f(summary.relayP95Ms.median / summary.directP95Ms.median, 2)}× |`);
  console.log(`\nbar relay ≥ 40% of direct throughput: ${bar ? 'PASS' : 'FAIL'}; load average at the end ${loadavg().map((x) => f(x, 2)).join(' ')}`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/relay.json', `${JSON.stringify({
    at: new Date().toISOString(), runs: RUNS, messages: MESSAGES, payloadChars: PAYLOAD.length, latencySamples: LATENCY_SAMPLES,
    summary, bar: { relayAtLeast40PctOfDirect: bar }, perRun: runs, loadAverageEnd: loadavg(),
  }, null, 2)}\n`);
  console.log('wrote bench/results/relay.json');
}

await main();
process.exit(0);
