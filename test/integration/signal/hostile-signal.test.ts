/**
 * Hostile WebSocket signaling against the real signal server (seed 004, DESIGN section 3):
 * attackers speak raw WebSocket; honest devices use the host's WsSignalClient.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { WsSignalClient } from '../../../src/main/signaling/ws-signal-client';
import { generateIdentity, type Identity } from '../../../src/shared/identity';
import { toBase64 } from '../../../src/shared/encoding';
import { signSignalAuth, type DeliveredFrame, type ErrorFrame } from '../../../src/shared/schemas/signal-ws';
import { withTimeout } from '../../../src/shared/timeout';
import { startSignalServer, type SignalServerHandle, type SignalServerOptions } from '../../../src/server/signal';
import { attachRaw, deliveredOf, errorsOf, openRaw, waitFor, type RawSignal } from './helpers';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function server(options: SignalServerOptions = {}): Promise<SignalServerHandle> {
  const s = await startSignalServer({ port: 0, ...options });
  cleanups.push(() => s.close());
  return s;
}

interface Honest {
  client: WsSignalClient;
  identity: Identity;
  deviceId: string;
  frames: DeliveredFrame[];
  errors: ErrorFrame[];
}

async function honest(url: string, deviceId: string, identity: Identity = generateIdentity()): Promise<Honest> {
  const client = new WsSignalClient({ serverUrl: url, deviceId, identity, signer: nodeSigner, backoff: { baseMs: 100, capMs: 400 } });
  const h: Honest = { client, identity, deviceId, frames: [], errors: [] };
  client.on('frame', (f) => h.frames.push(f));
  client.on('serverError', (e) => h.errors.push(e));
  cleanups.push(() => client.stop());
  await withTimeout(client.start(), 20_000, `${deviceId} READY`);
  return h;
}

function raw(url: string, deviceId: string, identity?: Identity, localAddress?: string): RawSignal {
  const r = openRaw(url, deviceId, identity, localAddress);
  cleanups.push(async () => r.ws.terminate());
  return r;
}

async function rawAttached(url: string, deviceId: string, identity?: Identity, localAddress?: string): Promise<RawSignal> {
  const r = await attachRaw(url, deviceId, identity, localAddress);
  cleanups.push(async () => r.ws.terminate());
  return r;
}

/** Proves the server still forwards between two honest devices. */
async function stillForwards(a: Honest, b: Honest, tag: string): Promise<void> {
  a.client.send({ type: 'OFFER', to: b.deviceId, body: tag });
  await waitFor(() => b.frames.some((f) => f.body === tag), `${tag} delivered`);
  const got = b.frames.find((f) => f.body === tag)!;
  expect(got).toEqual({ type: 'OFFER', from: a.deviceId, fromUser: a.identity.userId, body: tag });
}

describe('signal server: forwarding', () => {
  it('forwards OFFER/ANSWER/ICE/RELAY_REQUEST/NOTIFY by `to`, naming the authenticated sender', async () => {
    const s = await server();
    const a = await honest(s.url, 'dev-a');
    const b = await honest(s.url, 'dev-b');
    expect(a.client.signalAddr).toBe(`${s.url}/dev-a`);
    for (const type of ['OFFER', 'ICE_CANDIDATE', 'RELAY_REQUEST', 'NOTIFY'] as const) a.client.send({ type, to: 'dev-b', body: `${type}-body` });
    await waitFor(() => b.frames.length === 4, 'four frames at b');
    expect(b.frames.map((f) => [f.type, f.from, f.fromUser, f.body])).toEqual(
      ['OFFER', 'ICE_CANDIDATE', 'RELAY_REQUEST', 'NOTIFY'].map((t) => [t, 'dev-a', a.identity.userId, `${t}-body`]),
    );
    b.client.send({ type: 'ANSWER', to: 'dev-a', body: 'answer' });
    await waitFor(() => a.frames.length === 1, 'answer at a');
    expect(a.frames[0]).toMatchObject({ type: 'ANSWER', from: 'dev-b', fromUser: b.identity.userId });
    expect(s.stats()).toMatchObject({ attached: 2, forwarded: 5 });
  });

  it('an unknown target gets NOT_ATTACHED with its `to` and `ref` at once, and the connection stays', async () => {
    const s = await server();
    const a = await honest(s.url, 'dev-a');
    const b = await honest(s.url, 'dev-b');
    a.client.send({ type: 'OFFER', to: 'nobody-here', ref: 'req-7', body: 'x' });
    await waitFor(() => a.errors.length === 1, 'NOT_ATTACHED');
    expect(a.errors[0]).toEqual({ type: 'ERROR', code: 'NOT_ATTACHED', to: 'nobody-here', ref: 'req-7' });
    expect(s.stats().refused.NOT_ATTACHED).toBe(1);
    await stillForwards(a, b, 'after-not-attached');
  });

  it("paces an honest burst under the server's frame limit: a start with many contacts loses nothing", async () => {
    const s = await server();
    const b = await honest(s.url, 'dev-b');
    const identity = generateIdentity();
    const a = new WsSignalClient({ serverUrl: s.url, deviceId: 'dev-a', identity, signer: nodeSigner, backoff: { baseMs: 50, capMs: 100 } });
    cleanups.push(() => a.stop());
    const errors: ErrorFrame[] = [];
    a.on('serverError', (e) => errors.push(e));
    await withTimeout(a.start(), 20_000, 'a READY');
    // 30 contacts x (an offer + 6 candidates): twice the default burst of 100, sent in one turn.
    const n = 30 * 7;
    for (let i = 0; i < n; i++) a.send({ type: i % 7 === 0 ? 'OFFER' : 'ICE_CANDIDATE', to: 'dev-b', body: `burst-${i}` });
    await waitFor(() => b.frames.length >= n, 'every burst frame delivered', undefined, 60_000);
    expect(b.frames.map((f) => f.body)).toEqual(Array.from({ length: n }, (_, i) => `burst-${i}`));
    expect(s.stats().refused.RATE_LIMITED ?? 0).toBe(0);
    expect(errors).toEqual([]);
    expect(a.stats()).toMatchObject({ queued: 0, sent: n, droppedFromQueue: 0 });
  });

  it('queues frames while disconnected and sends them after reconnecting', async () => {
    const s = await server();
    const b = await honest(s.url, 'dev-b');
    const identity = generateIdentity();
    const a = new WsSignalClient({ serverUrl: s.url, deviceId: 'dev-a', identity, signer: nodeSigner, backoff: { baseMs: 50, capMs: 100 } });
    cleanups.push(() => a.stop());
    a.send({ type: 'OFFER', to: 'dev-b', body: 'queued-before-start' });
    expect(a.stats().queued).toBe(1);
    await withTimeout(a.start(), 20_000, 'a READY');
    await waitFor(() => b.frames.some((f) => f.body === 'queued-before-start'), 'queued frame delivered');
    expect(a.stats()).toMatchObject({ queued: 0, sent: 1 });
  });
});

describe('signal server: hostile clients', () => {
  it('refuses an unauthenticated connect: silence (timeout), junk, frames before AUTH, a wrong nonce, a wrong deviceId', async () => {
    const s = await server({ authTimeoutMs: 400 });
    const silent = raw(s.url, 'silent');
    const junk = raw(s.url, 'junk');
    const early = raw(s.url, 'early');
    const replay = raw(s.url, 'replay');
    const wrongDevice = raw(s.url, 'wrong-device');
    const mallory = generateIdentity();
    await Promise.all([junk.nonce, early.nonce, replay.nonce, wrongDevice.nonce]);
    junk.ws.send('{"type":"AUTH",');
    early.ws.send(JSON.stringify({ type: 'OFFER', to: 'dev-b', body: 'x' }));
    replay.ws.send(JSON.stringify(signSignalAuth({ nonce: toBase64(new Uint8Array(32)), deviceId: 'replay' }, mallory, nodeSigner)));
    wrongDevice.ws.send(JSON.stringify(signSignalAuth({ nonce: await wrongDevice.nonce, deviceId: 'other-device' }, mallory, nodeSigner)));
    for (const r of [silent, junk, early, replay, wrongDevice]) {
      const closed = await withTimeout(r.closed, 20_000, `${r.deviceId} closed`);
      expect(closed.code, r.deviceId).toBe(4401);
      expect(r.frames.some((f) => f.type === 'READY'), r.deviceId).toBe(false);
    }
    expect(errorsOf(silent, 'AUTH_TIMEOUT')).toHaveLength(1);
    expect(errorsOf(replay, 'BAD_AUTH')[0]?.reason).toMatch(/signature/);
    const stats = s.stats();
    expect(stats.refused.AUTH_TIMEOUT).toBe(1);
    expect(stats.refused.BAD_AUTH).toBe(4);
    expect(stats.attached).toBe(0);
    const badPath = raw(s.url, 'a/b');
    await withTimeout(badPath.closed, 20_000, 'bad path closed');
    expect(badPath.frames).toHaveLength(0);
    expect(s.stats().refused.BAD_PATH).toBe(1);
  });

  it("refuses a claim on another device's id; the holder keeps receiving; the same key replaces itself", async () => {
    const s = await server();
    const aliceId = generateIdentity();
    const a = await honest(s.url, 'dev-a', aliceId);
    const b = await honest(s.url, 'dev-b');
    const squat = raw(s.url, 'dev-a');
    squat.ws.send(JSON.stringify(signSignalAuth({ nonce: await squat.nonce, deviceId: 'dev-a' }, generateIdentity(), nodeSigner)));
    expect((await withTimeout(squat.closed, 20_000, 'squatter closed')).code).toBe(4409);
    expect(errorsOf(squat, 'DEVICE_TAKEN')).toHaveLength(1);
    expect(s.stats().refused.DEVICE_TAKEN).toBe(1);
    await stillForwards(b, a, 'still-alice');

    // Alice again (another socket, same key): replaces the old connection, which is told so.
    const states: string[] = [];
    a.client.on('state', (st) => states.push(st.state));
    const again = await rawAttached(s.url, 'dev-a', aliceId);
    await waitFor(() => a.client.currentState === 'offline', 'old connection replaced');
    expect(states).toContain('offline');
    b.client.send({ type: 'OFFER', to: 'dev-a', body: 'to-new-socket' });
    await waitFor(() => deliveredOf(again).some((f) => f.body === 'to-new-socket'), 'delivered to the replacing socket');
  });

  it('oversize frames get OVERSIZE (counted, connection kept); huge ones are cut; repeated ones close with 4413', async () => {
    const s = await server({ maxStrikes: 3 });
    const a = await honest(s.url, 'dev-a');
    const b = await honest(s.url, 'dev-b');
    const m = await rawAttached(s.url, 'dev-m');
    const big = JSON.stringify({ type: 'OFFER', to: 'dev-b', body: 'x'.repeat(100 * 1024) });
    m.ws.send(big);
    await waitFor(() => errorsOf(m, 'OVERSIZE').length === 1, 'OVERSIZE reply', m);
    expect(m.ws.readyState).toBe(m.ws.OPEN);
    expect(s.stats().refused.OVERSIZE).toBe(1);
    for (let i = 0; i < 3; i++) m.ws.send(big);
    expect((await withTimeout(m.closed, 20_000, 'abuser closed')).code).toBe(4413);
    expect(s.stats().refused.ABUSE_CLOSED).toBe(1);
    expect(b.frames).toHaveLength(0);

    const huge = await rawAttached(s.url, 'dev-h');
    huge.ws.send('y'.repeat(1024 * 1024));
    expect((await withTimeout(huge.closed, 20_000, 'huge closed')).code).toBe(1009);
    await waitFor(() => s.stats().refused.OVERSIZE === 5, 'huge frame counted');
    await stillForwards(a, b, 'after-oversize');
  });

  it('malformed frames after READY get BAD_FRAME with a reason and are counted', async () => {
    const s = await server();
    const a = await honest(s.url, 'dev-a');
    const b = await honest(s.url, 'dev-b');
    const m = await rawAttached(s.url, 'dev-m');
    for (const junk of ['not json', '[]', '{"type":"OFFER","to":"dev-b"}', '{"type":"EVIL","to":"dev-b","body":""}', '{"type":"OFFER","to":"a/b","body":""}']) m.ws.send(junk);
    await waitFor(() => errorsOf(m, 'BAD_FRAME').length === 5, 'five BAD_FRAME replies', m);
    expect(errorsOf(m, 'BAD_FRAME').every((e) => (e.reason ?? '').length > 0)).toBe(true);
    expect(s.stats().refused.BAD_FRAME).toBe(5);
    expect(b.frames).toHaveLength(0);
    await stillForwards(a, b, 'after-junk');
  });

  it('a frame flood is cut to the rate limit and counted; others are still forwarded', async () => {
    const s = await server({ framesPerSecond: 20, frameBurst: 40, maxStrikes: 1000 });
    const a = await honest(s.url, 'dev-a');
    const b = await honest(s.url, 'dev-b');
    const m = await rawAttached(s.url, 'dev-m');
    const started = Date.now();
    for (let i = 0; i < 2000; i++) m.ws.send(JSON.stringify({ type: 'NOTIFY', to: 'dev-b', body: `flood-${i}` }));
    await waitFor(() => s.stats().refused.RATE_LIMITED + b.frames.length >= 2000, 'all flood frames handled');
    const elapsedSec = (Date.now() - started) / 1000;
    const delivered = b.frames.length;
    // burst + sustained rate over the (generous) elapsed time
    expect(delivered).toBeLessThanOrEqual(40 + Math.ceil(20 * (elapsedSec + 1)));
    expect(s.stats().refused.RATE_LIMITED).toBe(2000 - delivered);
    expect(errorsOf(m, 'RATE_LIMITED').length).toBeGreaterThanOrEqual(1);
    expect(errorsOf(m, 'RATE_LIMITED').length).toBeLessThanOrEqual(Math.ceil(elapsedSec) + 1);
    await stillForwards(a, b, 'after-flood');
  });

  it('caps connections per address with 4429 (counted); other addresses still connect and forward', async () => {
    const s = await server({ maxConnectionsPerAddress: 5 });
    const flood: RawSignal[] = [];
    for (let i = 0; i < 12; i++) flood.push(raw(s.url, `flood-${i}`, undefined, '127.0.0.2'));
    const closes: Array<{ code: number }> = [];
    for (const r of flood) void r.closed.then((c) => closes.push(c));
    await waitFor(() => closes.length >= 7, 'seven refused sockets closed');
    await waitFor(() => s.stats().connections === 5, 'five sockets left on the server');
    expect(closes).toHaveLength(7);
    expect(closes.every((c) => c.code === 4429 || c.code === 1006)).toBe(true);
    expect(closes.some((c) => c.code === 4429)).toBe(true);
    expect(s.stats().refused.TOO_MANY_CONNECTIONS).toBe(7);
    const a = await honest(s.url, 'dev-a');
    const b = await honest(s.url, 'dev-b');
    await stillForwards(a, b, 'other-address');
  });

  it('drops a peer that stops answering pings (counted)', async () => {
    const s = await server({ pingIntervalMs: 150 });
    const m = await rawAttached(s.url, 'dev-dead');
    // Stop reading: no pong goes back.
    (m.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await waitFor(() => s.stats().refused.DEAD_PEER >= 1 && s.stats().attached === 0, 'dead peer dropped');
  });
});

