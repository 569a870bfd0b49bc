/** The renderer's WebSocket client against the real web-mode server (fake host behind it). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import type { MeshCommand } from '../../../src/shared/api';
import { BRIDGE_COMMAND, encodeBridgeFrame } from '../../../src/shared/bridge-binary';
import { ApiError } from '../../../src/renderer/api/errors';
import { createWebSocketApi, type TransportState, type WebSocketApi, type WebSocketCtor } from '../../../src/renderer/api/ws-client';
import { startWebServer, type WebServer } from '../../../src/main/web/server';
import { FAKE_USER_ID, FakeHost } from '../web/fake-host';

const WS = WebSocket as unknown as WebSocketCtor;
let host: FakeHost;
let server: WebServer;
let client: WebSocketApi | null = null;

beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-wsc-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html>');
  host = new FakeHost();
  server = await startWebServer({ host, rendererDir: dir });
});

afterEach(async () => {
  client?.close();
  client = null;
  await server.close();
});

describe('web-mode ParleyApi client', () => {
  it('queues calls until the socket opens, then resolves them with host results', async () => {
    client = createWebSocketApi({ url: `ws://127.0.0.1:${server.port}/api?token=${server.token}`, WebSocketImpl: WS });
    const [me, sent] = await Promise.all([
      client.call('whoami', {}),
      client.call('messages.send', { to: FAKE_USER_ID, text: 'hello' }),
    ]);
    expect(me.userId).toBe(FAKE_USER_ID);
    expect(sent.id).toBe('m'.repeat(32));
    expect(host.calls.map((c) => c.call)).toEqual(['whoami', 'messages.send']);
  });

  it('turns error replies into ApiError with the code', async () => {
    client = createWebSocketApi({ url: `ws://127.0.0.1:${server.port}/api?token=${server.token}`, WebSocketImpl: WS });
    const err = await client.call('messages.send', { to: 'nope', text: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('BAD_ARGS');
  });

  it('delivers host events to listeners until they unsubscribe', async () => {
    client = createWebSocketApi({ url: `ws://127.0.0.1:${server.port}/api?token=${server.token}`, WebSocketImpl: WS });
    await client.call('whoami', {});
    const seen: string[] = [];
    const off = client.on('presence', (p) => seen.push(`${p.userId}:${p.presence}`));
    host.emit('presence', { userId: FAKE_USER_ID, presence: 'online' });
    await expect.poll(() => seen.length).toBe(1);
    off();
    host.emit('presence', { userId: FAKE_USER_ID, presence: 'offline' });
    await client.call('whoami', {}); // the event, if forwarded, would have arrived before this reply
    expect(seen).toEqual([`${FAKE_USER_ID}:online`]);
  });

  it('stops retrying and explains what to do when the token is wrong', async () => {
    client = createWebSocketApi({ url: `ws://127.0.0.1:${server.port}/api?token=wrong`, WebSocketImpl: WS });
    const states: TransportState[] = [];
    client.onTransport((s) => states.push(s));
    const err = await client.call('whoami', {}).catch((e: unknown) => e);
    expect((err as ApiError).code).toBe('UNAUTHORIZED');
    const last = client.transport();
    expect(last.state).toBe('rejected');
    expect(last.state === 'rejected' && last.reason).toContain('parley web');
    expect(states.some((s) => s.state === 'closed')).toBe(false);
  });

  it('reconnects by itself after the link drops, and stops once the restarted server refuses the old token', async () => {
    client = createWebSocketApi({ url: `ws://127.0.0.1:${server.port}/api?token=${server.token}`, WebSocketImpl: WS, maxRetryDelayMs: 200 });
    await client.call('whoami', {});
    const states: string[] = [];
    client.onTransport((s) => states.push(s.state));
    // Drop every connection from the server side without stopping it.
    const port = server.port;
    const token = server.token;
    await server.close();
    server = await startWebServer({ host, port, rendererDir: mkdtempSync(join(tmpdir(), 'parley-wsc-')) });
    // The new server has a new token, so the client is told the link is no longer valid.
    await expect.poll(() => client?.transport().state, { timeout: 10_000 }).toBe('rejected');
    expect(states.indexOf('closed')).toBeGreaterThanOrEqual(0);
    expect(states.indexOf('connecting')).toBeGreaterThan(states.indexOf('closed'));
    expect(token).not.toBe(server.token);
  });
  it('carries file-channel bytes both ways as binary frames, not base64 in JSON', async () => {
    client = createWebSocketApi({ url: `ws://127.0.0.1:${server.port}/api?token=${server.token}`, WebSocketImpl: WS });
    const session = 'c'.repeat(32);
    const out = Uint8Array.from({ length: 65_541 }, (_, i) => (i * 13) % 256);
    expect(await client.call('mesh.report', { kind: 'file.data', session, cid: 'r7', data: out })).toEqual({ ok: true });
    const args = host.calls[0]!.args as { data: Uint8Array };
    expect(Buffer.from(args.data).equals(Buffer.from(out))).toBe(true);
    const seen: MeshCommand[] = [];
    client.on('mesh.command', (c) => seen.push(c));
    const back = Uint8Array.from({ length: 4096 }, (_, i) => 255 - (i % 256));
    host.emit('mesh.command', { session, op: 'file.data', cid: 'h2', data: back });
    await expect.poll(() => seen.length).toBe(1);
    const cmd = seen[0]!;
    expect(cmd).toMatchObject({ session, op: 'file.data', cid: 'h2' });
    expect(cmd.op === 'file.data' && Buffer.from(cmd.data).equals(Buffer.from(back))).toBe(true);
    expect(client.stats().rejectedBinary).toBe(0);
  });

  it('drops and counts binary frames from the server that do not decode', async () => {
    const junkServer = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => junkServer.once('listening', () => r()));
    const good = encodeBridgeFrame({ kind: BRIDGE_COMMAND, id: 0, session: 'd'.repeat(32), cid: 'h1', data: new Uint8Array(3) });
    const bad = [Buffer.alloc(3), Buffer.from([0x01, ...good.subarray(1)]), Buffer.concat([Buffer.from(good.subarray(0, 40)), Buffer.alloc(70_000)])];
    junkServer.on('connection', (ws) => {
      for (const b of bad) ws.send(b, { binary: true });
      ws.send(Buffer.from(good), { binary: true });
    });
    try {
      client = createWebSocketApi({ url: `ws://127.0.0.1:${(junkServer.address() as AddressInfo).port}/api`, WebSocketImpl: WS });
      const seen: MeshCommand[] = [];
      client.on('mesh.command', (c) => seen.push(c));
      await expect.poll(() => seen.length).toBe(1);
      expect(seen[0]).toMatchObject({ op: 'file.data', cid: 'h1' });
      expect(client.stats().rejectedBinary).toBe(bad.length);
    } finally {
      client?.close();
      client = null;
      await new Promise<void>((r) => junkServer.close(() => r()));
    }
  });
});
