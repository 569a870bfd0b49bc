/**
 * Broker restarts: clients go 'reconnecting' with growing attempts, queue what is sent meanwhile,
 * and deliver it in order once the broker is back — with the embedded broker (closed and restarted
 * on the same ports; its sessions are in memory, so they are lost) and with a Mosquitto of our own
 * on a free port (persistence on, so sessions survive the restart).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startBroker } from '../../../src/server/broker';
import { eventually, sleep, startClient, type TestClient } from './helpers';

const offers = (c: TestClient, from: string) =>
  c.messages.flatMap((m) => (m.type === 'offer' && m.from === from ? [m.body.sdp] : []));

describe('reconnect after a broker restart', () => {
  it('embedded broker: queued messages are flushed in order once it is back on the same port', async () => {
    let broker = await startBroker();
    const { tcpPort, wsPort, mqttUrl } = broker;
    // B retries quickly; A slowly, so that B has re-subscribed on the fresh (empty) broker before
    // A flushes — the embedded broker's sessions are in memory and do not survive the restart.
    const b = await startClient(mqttUrl, { backoff: { baseMs: 50, capMs: 100 } });
    const a = await startClient(mqttUrl, { backoff: { baseMs: 2500, capMs: 2500, jitter: 0 } });
    try {
      await broker.close();
      await eventually(() => a.sig.connectionState, (s) => s === 'reconnecting', 10_000, 'A reconnecting');
      await eventually(() => b.sig.connectionState, (s) => s === 'reconnecting', 10_000, 'B reconnecting');
      for (let i = 0; i < 10; i++) a.sig.send(b.identity.userId, 'offer', { sdp: `while-down-${i}` });
      expect(a.sig.stats().queued).toBe(10);
      await sleep(400); // B fails a few attempts: its attempt counter grows

      broker = await startBroker({ tcpPort, wsPort });
      await b.sig.whenConnected();
      const got = await eventually(() => offers(b, a.identity.userId), (l) => l.length >= 10, 30_000, 'queued offers');
      expect(got).toEqual(Array.from({ length: 10 }, (_, i) => `while-down-${i}`));
      expect(a.sig.stats().queued).toBe(0);
      expect(a.states).toEqual(expect.arrayContaining(['connected:0', 'reconnecting:1']));
      const bAttempts = b.states.filter((s) => s.startsWith('reconnecting:')).map((s) => Number(s.split(':')[1]));
      expect(Math.max(...bAttempts)).toBeGreaterThan(1);
      expect(b.states.at(-1)).toBe('connected:0');
    } finally {
      await Promise.all([a.sig.stop(), b.sig.stop()]);
      await broker.close();
    }
  });

  it('Mosquitto with persistence: the recipient\'s session survives the restart, so order of reconnection does not matter', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'parley-mosquitto-'));
    const config = join(dir, 'mosquitto.conf');
    writeFileSync(
      config,
      [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${dir}/`, 'set_tcp_nodelay true']
        .concat(process.getuid?.() === 0 ? ['user root'] : [])
        .join('\n') + '\n',
    );
    const url = `mqtt://127.0.0.1:${port}`;
    let mosquitto = await startMosquitto(config, port);
    const b = await startClient(url, { backoff: { baseMs: 200, capMs: 400 } });
    const a = await startClient(url, { backoff: { baseMs: 200, capMs: 400 } });
    try {
      await stopMosquitto(mosquitto); // SIGTERM: Mosquitto saves sessions to disk
      await eventually(() => a.sig.connectionState, (s) => s === 'reconnecting', 10_000, 'A reconnecting');
      for (let i = 0; i < 10; i++) a.sig.send(b.identity.userId, 'offer', { sdp: `mosq-down-${i}` });
      await b.sig.stop(); // B is not even there when A flushes
      mosquitto = await startMosquitto(config, port);
      await a.sig.whenConnected();
      await a.sig.flush();

      const bAgain = await startClient(url, { identity: b.identity, deviceId: b.deviceId });
      try {
        const got = await eventually(() => offers(bAgain, a.identity.userId), (l) => l.length >= 10, 30_000, 'offers from the saved session');
        expect(got).toEqual(Array.from({ length: 10 }, (_, i) => `mosq-down-${i}`));
      } finally {
        await bAgain.sig.stop();
      }
    } finally {
      await a.sig.stop();
      await stopMosquitto(mosquitto);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function startMosquitto(config: string, port: number): Promise<ChildProcess> {
  const child = spawn('mosquitto', ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  await eventually(() => log, (text) => text.includes('running') || child.exitCode !== null, 15_000, `mosquitto on ${port}`);
  if (child.exitCode !== null) throw new Error(`mosquitto exited: ${log}`);
  return child;
}

function stopMosquitto(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
