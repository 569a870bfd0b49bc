/**
 * Signaling round trip (A → B → A) over MQTT QoS 1, on Mosquitto and the embedded broker:
 * MqttSignaling (sign + seal + verify + open + schema, both ways) against the same echo with two raw
 * mqtt.js clients (Nagle off) on the same broker in the same run. Prints ratios; writes
 * bench/results/signaling.json. Also runs a private Mosquitto with `set_tcp_nodelay true` (what
 * deployers should set) next to the machine's default-configured one.
 * Run: npx tsx bench/signaling.bench.ts [rounds]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, Socket, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { nodeSigner } from '../src/main/crypto/node-signer';
import { MqttSignaling } from '../src/main/signaling/mqtt-signaling';
import { startBroker } from '../src/server/broker';
import { generateIdentity, newDeviceId } from '../src/shared/identity';
import { makeLoginPassword, mqttClientId } from '../src/main/signaling/mqtt-login';

const ROUNDS = Number(process.argv[2] ?? 300);
const WARMUP = 30;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(samples: number[]) {
  const sorted = [...samples].sort((x, y) => x - y);
  return { p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), p99: round(percentile(sorted, 99)), n: sorted.length };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

async function rawClient(url: string): Promise<MqttClient> {
  const identity = generateIdentity();
  const clientId = mqttClientId(identity.userId, newDeviceId());
  const client = await connectAsync(url, {
    clientId,
    username: identity.userId,
    password: makeLoginPassword(identity, clientId, nodeSigner, Date.now()),
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  if (client.stream instanceof Socket) client.stream.setNoDelay(true);
  (client as MqttClient & { userId: string }).userId = identity.userId;
  return client;
}

async function rawEcho(url: string): Promise<number[]> {
  const a = (await rawClient(url)) as MqttClient & { userId: string };
  const b = (await rawClient(url)) as MqttClient & { userId: string };
  await a.subscribeAsync(`user/${a.userId}/answer`, { qos: 1 });
  await b.subscribeAsync(`user/${b.userId}/offer`, { qos: 1 });
  b.on('message', (_t, payload) => b.publish(`user/${a.userId}/answer`, payload, { qos: 1 }));
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS + WARMUP; i++) {
    const start = performance.now();
    await new Promise<void>((resolve) => {
      a.once('message', () => resolve());
      a.publish(`user/${b.userId}/offer`, JSON.stringify({ sdp: `v=0 round ${i}`.padEnd(600, 'x') }), { qos: 1 });
    });
    if (i >= WARMUP) samples.push(performance.now() - start);
  }
  await Promise.all([a.endAsync(), b.endAsync()]);
  return samples;
}

async function signalingEcho(url: string): Promise<number[]> {
  const make = () => new MqttSignaling({ url, identity: generateIdentity(), deviceId: newDeviceId(), signer: nodeSigner });
  const a = make();
  const b = make();
  a.start();
  b.start();
  await Promise.all([a.whenConnected(), b.whenConnected()]);
  b.on('message', (m) => {
    if (m.type === 'offer') b.send(m.from, 'answer', { sdp: m.body.sdp });
  });
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS + WARMUP; i++) {
    const start = performance.now();
    await new Promise<void>((resolve) => {
      const off = a.on('message', (m) => {
        if (m.type === 'answer') {
          off();
          resolve();
        }
      });
      a.send(b.userId, 'offer', { sdp: `v=0 round ${i}`.padEnd(600, 'x') });
    });
    if (i >= WARMUP) samples.push(performance.now() - start);
  }
  await Promise.all([a.stop(), b.stop()]);
  return samples;
}

async function startTunedMosquitto(): Promise<{ url: string; stop(): void }> {
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-mosquitto-'));
  const config = join(dir, 'mosquitto.conf');
  writeFileSync(config, `listener ${port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n${process.getuid?.() === 0 ? 'user root\n' : ''}`);
  const child = spawn('mosquitto', ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => chunk.toString().includes('running') && resolve());
    child.once('exit', () => reject(new Error('mosquitto exited')));
  });
  return { url: `mqtt://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

const broker = await startBroker({ rateLimit: { burst: 100_000, perSecond: 100_000 } });
const tuned = await startTunedMosquitto();
const results: Record<string, unknown> = { rounds: ROUNDS, payload: '600-char SDP', measuredAt: new Date().toISOString() };
for (const [name, url] of [
  ['mosquitto-default', 'mqtt://127.0.0.1:1883'],
  ['mosquitto-nodelay', tuned.url],
  ['embedded', broker.mqttUrl],
] as const) {
  const raw = summary(await rawEcho(url));
  const signaling = summary(await signalingEcho(url));
  const ratio = { p50: round(signaling.p50 / raw.p50), p95: round(signaling.p95 / raw.p95) };
  results[name] = { rawEchoMs: raw, signalingEchoMs: signaling, signalingOverRaw: ratio };
  console.log(
    `${name.padEnd(18)} raw QoS1 echo p50 ${raw.p50} ms p95 ${raw.p95} ms | signed+sealed echo p50 ${signaling.p50} ms p95 ${signaling.p95} ms | ratio p50 ${ratio.p50}x p95 ${ratio.p95}x`,
  );
}
await broker.close();
tuned.stop();
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/signaling.json', `${JSON.stringify(results, null, 2)}\n`);
