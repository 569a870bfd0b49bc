/**
 * A signal server in its own process under a flood: 20 attackers (the per-address cap) send
 * maximum-size frames as fast as they can at a recipient that never reads, and at devices that
 * are not attached. The server's memory must stay bounded and honest devices must still be served.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { WsSignalClient } from '../../../src/main/signaling/ws-signal-client';
import { generateIdentity } from '../../../src/shared/identity';
import type { DeliveredFrame } from '../../../src/shared/schemas/signal-ws';
import type { SignalServerStats } from '../../../src/server/signal';
import { withTimeout } from '../../../src/shared/timeout';
import { attachRaw, waitFor, type RawSignal } from './helpers';

const FIXTURE = fileURLToPath(new URL('./fixtures/signal-process.ts', import.meta.url));
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
});

interface Probe { stats: SignalServerStats; rss: number; heapUsed: number }

async function serverProcess(): Promise<{ url: string; probe(): Promise<Probe> }> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', FIXTURE, JSON.stringify({ pingIntervalMs: 60_000, ...(process.env.FLOOD_NO_CAP ? { maxRecipientBufferedBytes: 1e12 } : {}) })], { stdio: ['pipe', 'pipe', 'inherit'] });
  cleanups.push(() => child.kill('SIGKILL'));
  const lines = createInterface({ input: child.stdout });
  const waiting: Array<(line: string) => void> = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const next = () => new Promise<string>((resolve) => waiting.push(resolve));
  const { url } = JSON.parse(await withTimeout(next(), 60_000, 'signal process ready')) as { url: string };
  return {
    url,
    probe: async () => {
      const reply = next();
      child.stdin.write('stats\n');
      return JSON.parse(await withTimeout(reply, 20_000, 'stats')) as Probe;
    },
  };
}

describe('signal server under a flood (separate process)', () => {
  it('keeps its memory bounded, counts every refusal, and keeps forwarding for honest devices', async () => {
    const srv = await serverProcess();
    const got: DeliveredFrame[] = [];
    const mk = async (deviceId: string) => {
      const c = new WsSignalClient({ serverUrl: srv.url, deviceId, identity: generateIdentity(), signer: nodeSigner });
      cleanups.push(() => c.stop());
      await withTimeout(c.start(), 20_000, deviceId);
      return c;
    };
    const alice = await mk('alice');
    const bob = await mk('bob');
    bob.on('frame', (f) => got.push(f));

    // A recipient that never reads, from its own address.
    const sink = await attachRaw(srv.url, 'sink', undefined, '127.0.0.4');
    cleanups.push(() => sink.ws.terminate());
    (sink.ws as unknown as { _socket: { pause(): void } })._socket.pause();

    const attackers: RawSignal[] = [];
    for (let i = 0; i < 20; i++) attackers.push(await attachRaw(srv.url, `attacker-${i}`, undefined, '127.0.0.3'));
    cleanups.push(() => attackers.forEach((a) => a.ws.terminate()));
    await new Promise((r) => setTimeout(r, 300));
    const before = await srv.probe();

    const frameTo = (to: string) => JSON.stringify({ type: 'OFFER', to, body: 'A'.repeat(60 * 1024) });
    const toSink = frameTo('sink');
    const toNobody = frameTo('nobody');
    let sent = 0;
    let stop = false;
    const pump = (a: RawSignal, i: number) =>
      new Promise<void>((resolve) => {
        const tick = () => {
          if (stop || a.ws.readyState !== a.ws.OPEN) return resolve();
          while (a.ws.bufferedAmount < 512 * 1024) {
            a.ws.send(i % 4 === 0 ? toNobody : toSink);
            sent++;
          }
          setTimeout(tick, 5);
        };
        tick();
      });
    const pumps = attackers.map(pump);
    for (let round = 0; round < 5; round++) {
      const tag = `during-flood-${round}`;
      alice.send({ type: 'OFFER', to: 'bob', body: tag });
      await waitFor(() => got.some((f) => f.body === tag), `${tag} delivered`, undefined, 30_000);
      await new Promise((r) => setTimeout(r, 200));
    }
    stop = true;
    await Promise.all(pumps);
    const after = await srv.probe();

    console.log(`flood: ${(sent * 60 / 1024).toFixed(0)} MiB sent; server rss ${(before.rss / 2 ** 20).toFixed(0)} -> ${(after.rss / 2 ** 20).toFixed(0)} MiB; refused ${JSON.stringify(after.stats.refused)}`);
    // Bounded: the sink's backlog is capped at ~1 MiB. With the cap off (FLOOD_NO_CAP=1) the
    // server grew by ~360 MiB in this same test and it fails here.
    expect(after.rss - before.rss).toBeLessThan(120 * 1024 * 1024);
    expect(sent * 60 * 1024).toBeGreaterThan(50 * 1024 * 1024); // the attackers really pushed data
    // The server, not the bucket, is the bottleneck here (parsing 60 KiB frames); the rate limit has its own test.
    expect(after.stats.refused.RECIPIENT_BACKLOG).toBeGreaterThan(0);
    expect(after.stats.refused.NOT_ATTACHED).toBeGreaterThan(0);
    expect(after.stats.connections).toBeGreaterThanOrEqual(23);
    expect(got.filter((f) => f.body.startsWith('during-flood-'))).toHaveLength(5);
  });
});
