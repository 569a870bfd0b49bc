/**
 * Scale-out: MQTT signaling through two broker processes linked by Redis (client A on one, B on
 * the other) against one broker process, side by side in one run.
 *  - round trip: A publishes QoS 1 to B's inbox, B answers to A's; sequential, p50/p99;
 *  - messages/s: 4 publishers on broker 1 keep a window of QoS 1 publishes in flight to one
 *    subscriber (on broker 2 when linked), counted at the subscriber;
 *  - saturation: the same load in steps of window size on one broker process, with its CPU time
 *    (from /proc) per second of wall time: where it reaches ~1 core, one process is the ceiling.
 * Median of RUNS (default 3) with min-max spread; load average recorded. Ratios, no bar.
 * Run: npm run bench:scaleout [-- runs]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { Redis } from 'ioredis';
import { nodeSigner } from '../src/main/crypto/node-signer';
import { makeLoginPassword, mqttClientId } from '../src/main/signaling/mqtt-login';
import { generateIdentity, newDeviceId } from '../src/shared/identity';

const HERE = dirname(fileURLToPath(import.meta.url));
const RUNS = Number(process.argv[2] ?? 3);
const ROUNDS = 300;
const THROUGHPUT_MS = 2000;
const REDIS_URL = process.env.PARLEY_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PAYLOAD = Buffer.alloc(200, 'x');

type Client = MqttClient & { userId: string };

interface BrokerProc {
  child: ChildProcess;
  url: string;
  close(): Promise<void>;
}

async function startBrokerProcess(args: string[]): Promise<BrokerProc> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'scaleout/broker-process.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(String((JSON.parse(out.split('\n')[0]!) as { mqtt: string }).mqtt));
    });
    child.once('exit', (code) => reject(new Error(`broker process exited ${code}`)));
  });
  return {
    child,
    url,
    close: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function client(url: string): Promise<Client> {
  const identity = generateIdentity();
  const clientId = mqttClientId(identity.userId, newDeviceId());
  const c = (await connectAsync(url, {
    clientId,
    username: identity.userId,
    password: makeLoginPassword(identity, clientId, nodeSigner, Date.now()),
    protocolVersion: 4,
    reconnectPeriod: 0,
  })) as Client;
  if (c.stream instanceof Socket) c.stream.setNoDelay(true);
  c.userId = identity.userId;
  return c;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (100/s on Linux)
  return ticks / 100;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function roundTrips(urlA: string, urlB: string): Promise<{ p50: number; p99: number }> {
  const a = await client(urlA);
  const b = await client(urlB);
  await a.subscribeAsync(`user/${a.userId}/answer`, { qos: 1 });
  await b.subscribeAsync(`user/${b.userId}/offer`, { qos: 1 });
  await sleep(200); // subscriptions reach the other broker through Redis
  b.on('message', (_t, payload) => b.publish(`user/${a.userId}/answer`, payload, { qos: 1 }));
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS + 30; i++) {
    const start = performance.now();
    await new Promise<void>((resolve) => {
      a.once('message', () => resolve());
      a.publish(`user/${b.userId}/offer`, PAYLOAD, { qos: 1 });
    });
    if (i >= 30) samples.push(performance.now() - start);
  }
  await Promise.all([a.endAsync(), b.endAsync()]);
  samples.sort((x, y) => x - y);
  return { p50: samples[Math.floor(samples.length / 2)]!, p99: samples[Math.floor(samples.length * 0.99)]! };
}

/** Publishers on urlPub keep `window` QoS 1 publishes in flight each; counts what the subscriber on urlSub receives. */
async function throughput(urlPub: string, urlSub: string, window: number, brokerPids: number[]): Promise<{ perSecond: number; brokerCores: number[] }> {
  const sub = await client(urlSub);
  await sub.subscribeAsync(`user/${sub.userId}/offer`, { qos: 1 });
  const pubs = await Promise.all([1, 2, 3, 4].map(() => client(urlPub)));
  await sleep(200);
  let received = 0;
  sub.on('message', () => received++);
  let running = true;
  const loops = pubs.map(async (p) => {
    const inFlight = new Set<Promise<unknown>>();
    while (running) {
      while (inFlight.size < window) {
        const sent: Promise<unknown> = p.publishAsync(`user/${sub.userId}/offer`, PAYLOAD, { qos: 1 }).catch(() => undefined).finally(() => inFlight.delete(sent));
        inFlight.add(sent);
      }
      await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  });
  await sleep(300); // warm-up
  const r0 = received;
  const cpu0 = brokerPids.map(cpuSeconds);
  const t0 = performance.now();
  await sleep(THROUGHPUT_MS);
  const elapsed = (performance.now() - t0) / 1000;
  const r1 = received;
  const cpu1 = brokerPids.map(cpuSeconds);
  running = false;
  await Promise.all(loops);
  await Promise.all([...pubs, sub].map((c) => c.endAsync()));
  return { perSecond: (r1 - r0) / elapsed, brokerCores: cpu1.map((c, i) => (c - cpu0[i]!) / elapsed) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const spread = (xs: number[]) => ({ min: Math.min(...xs), max: Math.max(...xs) });
const r2 = (x: number) => Math.round(x * 100) / 100;

async function dropPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}

const loadBefore = loadavg();
const prefix = `parley-bench:${randomBytes(4).toString('hex')}:`;
const single = await startBrokerProcess(['memory']);
const linked1 = await startBrokerProcess(['redis', REDIS_URL, prefix]);
const linked2 = await startBrokerProcess(['redis', REDIS_URL, prefix]);
const setups = {
  oneBroker: { pub: single.url, sub: single.url, pids: [single.child.pid!] },
  twoBrokersRedis: { pub: linked1.url, sub: linked2.url, pids: [linked1.child.pid!, linked2.child.pid!] },
  oneBrokerRedis: { pub: linked1.url, sub: linked1.url, pids: [linked1.child.pid!] },
};
type SetupName = keyof typeof setups;
const rtt: Record<SetupName, { p50: number[]; p99: number[] }> = { oneBroker: { p50: [], p99: [] }, twoBrokersRedis: { p50: [], p99: [] }, oneBrokerRedis: { p50: [], p99: [] } };
const rate: Record<SetupName, number[]> = { oneBroker: [], twoBrokersRedis: [], oneBrokerRedis: [] };
try {
  for (let run = 0; run < RUNS; run++) {
    for (const name of Object.keys(setups) as SetupName[]) {
      const s = setups[name];
      const rt = await roundTrips(s.pub, s.sub);
      rtt[name].p50.push(rt.p50);
      rtt[name].p99.push(rt.p99);
      const tp = await throughput(s.pub, s.sub, 16, s.pids);
      rate[name].push(tp.perSecond);
      console.log(`run ${run + 1} ${name}: rtt p50 ${r2(rt.p50)} ms p99 ${r2(rt.p99)} ms, ${Math.round(tp.perSecond)} msg/s, broker cores ${tp.brokerCores.map(r2).join('+')}`);
    }
  }
  // Saturation of one broker process: raise the in-flight window until its CPU stops rising.
  const ramp: Array<{ window: number; perSecond: number; brokerCores: number }> = [];
  for (const window of [1, 2, 4, 8, 16, 32, 64]) {
    const samples = [];
    for (let run = 0; run < RUNS; run++) samples.push(await throughput(single.url, single.url, window, [single.child.pid!]));
    const point = { window, perSecond: median(samples.map((x) => x.perSecond)), brokerCores: median(samples.map((x) => x.brokerCores[0]!)) };
    ramp.push(point);
    console.log(`ramp window ${window}x4: ${Math.round(point.perSecond)} msg/s, broker ${r2(point.brokerCores)} cores`);
  }
  const saturated = ramp.find((p) => p.brokerCores >= 0.9) ?? null;
  const peak = ramp.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  // On a loaded machine the load generator may run out of CPU before the broker does; broker CPU
  // per message still gives where one broker process would reach a full core.
  const perCore = median(ramp.filter((p) => p.brokerCores >= 0.05).map((p) => p.perSecond / p.brokerCores));
  const summary = (name: SetupName) => ({
    rttP50Ms: { median: r2(median(rtt[name].p50)), ...mapSpread(rtt[name].p50) },
    rttP99Ms: { median: r2(median(rtt[name].p99)), ...mapSpread(rtt[name].p99) },
    messagesPerSecond: { median: Math.round(median(rate[name])), ...mapSpread(rate[name], 0) },
  });
  const result = {
    bench: 'scaleout',
    date: new Date().toISOString(),
    runs: RUNS,
    roundTrips: ROUNDS,
    throughputWindowMs: THROUGHPUT_MS,
    payloadBytes: PAYLOAD.length,
    cpus: cpus().length,
    loadAverage: { before: loadBefore.map(r2), after: loadavg().map(r2) },
    setups: { oneBroker: summary('oneBroker'), twoBrokersRedis: summary('twoBrokersRedis'), oneBrokerRedis: summary('oneBrokerRedis') },
    ratios: {
      rttP50TwoBrokersVsOne: r2(median(rtt.twoBrokersRedis.p50) / median(rtt.oneBroker.p50)),
      messagesPerSecondTwoBrokersVsOne: r2(median(rate.twoBrokersRedis) / median(rate.oneBroker)),
      rttP50OneBrokerRedisVsMemory: r2(median(rtt.oneBrokerRedis.p50) / median(rtt.oneBroker.p50)),
    },
    oneBrokerSaturation: { ramp: ramp.map((p) => ({ window: p.window, publishers: 4, perSecond: Math.round(p.perSecond), brokerCores: r2(p.brokerCores) })), firstAtOneCore: saturated ? { window: saturated.window, perSecond: Math.round(saturated.perSecond) } : null, peakPerSecond: Math.round(peak.perSecond), estimatedPerSecondAtOneCore: Math.round(perCore), brokerCpuMicrosecondsPerMessage: r2(1e6 / perCore) },
  };
  console.log(JSON.stringify(result.ratios));
  console.log(`one broker process: first at >= 0.9 core: ${JSON.stringify(result.oneBrokerSaturation.firstAtOneCore)}; peak ${result.oneBrokerSaturation.peakPerSecond} msg/s; ~${result.oneBrokerSaturation.estimatedPerSecondAtOneCore} msg/s per core of broker CPU`);
  mkdirSync(join(HERE, 'results'), { recursive: true });
  writeFileSync(join(HERE, 'results/scaleout.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log('wrote bench/results/scaleout.json');
} finally {
  await Promise.all([single.close(), linked1.close(), linked2.close()]);
  await dropPrefix(prefix);
}

function mapSpread(xs: number[], digits = 2) {
  const s = spread(xs);
  const f = (x: number) => (digits === 0 ? Math.round(x) : r2(x));
  return { min: f(s.min), max: f(s.max) };
}
