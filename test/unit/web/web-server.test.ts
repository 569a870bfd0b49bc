/**
 * Hostile and normal traffic against the web-mode server: real HTTP and WebSocket sockets on
 * loopback, a fake host behind them.
 */
import { mkdtempSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import fc from 'fast-check';
import { CLOSE_BAD_ORIGIN, CLOSE_UNAUTHORIZED, startWebServer, type WebServer } from '../../../src/main/web/server';
import { FAKE_USER_ID, FakeHost } from './fake-host';
import { BRIDGE_COMMAND, BRIDGE_REPORT, decodeBridgeFrame, encodeBridgeFrame } from '../../../src/shared/bridge-binary';
import { MAX_FILE_BRIDGE_BYTES } from '../../../src/shared/api';

let host: FakeHost;
let server: WebServer;
let rendererDir: string;
const sockets: WebSocket[] = [];

beforeEach(async () => {
  rendererDir = mkdtempSync(join(tmpdir(), 'parley-web-'));
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>Parley test</title>');
  mkdirSync(join(rendererDir, 'assets'));
  writeFileSync(join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(tmpdir(), 'parley-web-secret.txt'), 'secret');
  host = new FakeHost();
  server = await startWebServer({ host, port: 0, rendererDir, maxFrameBytes: 4096 });
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await server.close();
});

function open(query: string, headers: Record<string, string> = {}): WebSocket {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api${query}`, { headers });
  sockets.push(ws);
  return ws;
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

async function authed(): Promise<WebSocket> {
  const ws = open(`?token=${server.token}`, { origin: `http://127.0.0.1:${server.port}` });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  return ws;
}

type Frame = { id?: unknown; ok?: boolean; result?: unknown; error?: { code: string; message: string }; event?: string; payload?: unknown };

function nextFrame(ws: WebSocket): Promise<Frame> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(JSON.parse(String(data)) as Frame)));
}

async function roundTrip(ws: WebSocket, data: string | Buffer, binary = false): Promise<Frame> {
  const reply = nextFrame(ws);
  ws.send(data, { binary });
  return reply;
}

function httpGet(path: string, hostHeader?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers: hostHeader ? { host: hostHeader } : {} }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('web server: authentication', () => {
  it('prints a loopback URL carrying a 256-bit token in the fragment', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/#token=${server.token}`);
    expect(server.token).toMatch(/^[0-9a-f]{64}$/);
  });

  it('closes with 4401 when the token is missing', async () => {
    const result = await closed(open(''));
    expect(result.code).toBe(CLOSE_UNAUTHORIZED);
    expect(server.stats().rejected.UNAUTHORIZED).toBe(1);
    expect(host.listenerCount()).toBe(0);
  });

  it('closes with 4401 when the token is wrong, even by one character or length', async () => {
    const flipped = (server.token[0] === 'a' ? 'b' : 'a') + server.token.slice(1);
    for (const bad of [flipped, server.token.slice(0, -1), `${server.token}0`, 'x']) {
      const result = await closed(open(`?token=${encodeURIComponent(bad)}`));
      expect(result.code).toBe(CLOSE_UNAUTHORIZED);
    }
    expect(server.stats().rejected.UNAUTHORIZED).toBe(4);
    expect(host.calls).toHaveLength(0);
  });

  it('closes with 4403 for a foreign Origin even with the right token', async () => {
    const ws = open(`?token=${server.token}`, { origin: 'http://evil.example' });
    const result = await closed(ws);
    expect(result.code).toBe(CLOSE_BAD_ORIGIN);
    expect(server.stats().rejected.BAD_ORIGIN).toBe(1);
  });

  it('refuses upgrades on other paths and with a foreign Host header (DNS rebinding)', async () => {
    const wrongPath = new WebSocket(`ws://127.0.0.1:${server.port}/other?token=${server.token}`);
    sockets.push(wrongPath);
    await new Promise<void>((resolve) => wrongPath.once('error', () => resolve()));
    const rebound = new WebSocket(`ws://127.0.0.1:${server.port}/api?token=${server.token}`, { headers: { host: 'attacker.example:80' } });
    sockets.push(rebound);
    await new Promise<void>((resolve) => rebound.once('error', () => resolve()));
    expect(server.stats().rejected.BAD_HOST).toBe(2);
  });
});

describe('web server: frames', () => {
  it('answers a valid call with the host result', async () => {
    const ws = await authed();
    const reply = await roundTrip(ws, JSON.stringify({ id: 1, call: 'whoami', args: {} }));
    expect(reply).toEqual({ id: 1, ok: true, result: { userId: FAKE_USER_ID, deviceId: 'd'.repeat(32), name: 'Fake' } });
    expect(server.stats().calls).toBe(1);
  });

  it('rejects malformed JSON with BAD_JSON and keeps the connection', async () => {
    const ws = await authed();
    const reply = await roundTrip(ws, '{"id": 1, "call": ');
    expect(reply).toMatchObject({ id: null, ok: false, error: { code: 'BAD_JSON' } });
    const after = await roundTrip(ws, JSON.stringify({ id: 2, call: 'whoami', args: {} }));
    expect(after).toMatchObject({ id: 2, ok: true });
  });

  it('rejects frames that are not {id, call, args} objects with SCHEMA', async () => {
    const ws = await authed();
    for (const bad of ['[]', 'null', '42', '"x"', JSON.stringify({ call: 'whoami' }), JSON.stringify({ id: {}, call: 'whoami' }), JSON.stringify({ id: 'x'.repeat(65), call: 'whoami' }), JSON.stringify({ id: 1.5, call: 'whoami' })]) {
      const reply = await roundTrip(ws, bad);
      expect(reply, bad).toMatchObject({ ok: false, error: { code: 'SCHEMA' } });
    }
    expect(server.stats().rejected.SCHEMA).toBe(8);
    expect(host.calls).toHaveLength(0);
  });

  it('rejects an oversized frame with OVERSIZE without calling the host', async () => {
    const ws = await authed();
    const reply = await roundTrip(ws, JSON.stringify({ id: 3, call: 'messages.send', args: { to: FAKE_USER_ID, text: 'x'.repeat(5000) } }));
    expect(reply).toMatchObject({ ok: false, error: { code: 'OVERSIZE' } });
    expect(host.calls).toHaveLength(0);
  });

  it('drops the connection for a frame above the hard limit, and the server keeps serving', async () => {
    const ws = await authed();
    const done = closed(ws);
    ws.send('x'.repeat(2 * 1024 * 1024));
    expect((await done).code).toBe(1009);
    await expect.poll(() => server.stats().rejected.OVERSIZE).toBe(1);
    const again = await authed();
    expect(await roundTrip(again, JSON.stringify({ id: 1, call: 'whoami', args: {} }))).toMatchObject({ ok: true });
  });

  it('counts a frame that is not valid UTF-8 and keeps serving others', async () => {
    const ws = await authed();
    const done = closed(ws);
    ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await done).code).toBe(1007);
    await expect.poll(() => server.stats().rejected.PROTOCOL).toBe(1);
    const again = await authed();
    expect(await roundTrip(again, JSON.stringify({ id: 1, call: 'whoami', args: {} }))).toMatchObject({ ok: true });
  });

  it('rejects binary frames', async () => {
    const ws = await authed();
    const reply = await roundTrip(ws, Buffer.from('{"id":1,"call":"whoami","args":{}}'), true);
    expect(reply).toMatchObject({ ok: false, error: { code: 'BINARY' } });
  });

  it('takes file-channel bytes from a binary frame as mesh.report file.data and answers in JSON', async () => {
    const ws = await authed();
    const data = Uint8Array.from({ length: MAX_FILE_BRIDGE_BYTES }, (_, i) => (i * 7) % 256);
    const frame = encodeBridgeFrame({ kind: BRIDGE_REPORT, id: 77, session: 'a'.repeat(32), cid: 'h12', data });
    expect(await roundTrip(ws, Buffer.from(frame), true)).toEqual({ id: 77, ok: true, result: { ok: true } });
    expect(host.calls).toHaveLength(1);
    const call = host.calls[0]! as { call: string; args: { kind: string; session: string; cid: string; data: Uint8Array } };
    expect(call.call).toBe('mesh.report');
    expect(call.args).toMatchObject({ kind: 'file.data', session: 'a'.repeat(32), cid: 'h12' });
    expect(Buffer.from(call.args.data).equals(Buffer.from(data))).toBe(true);
  });

  it('sends mesh.command file.data as a binary frame, everything else as JSON text', async () => {
    const ws = await authed();
    const data = Uint8Array.from({ length: 1000 }, (_, i) => i % 256);
    const got = new Promise<{ bytes: Buffer; isBinary: boolean }>((resolve) => ws.once('message', (d: Buffer, isBinary: boolean) => resolve({ bytes: d, isBinary })));
    host.emit('mesh.command', { session: 'b'.repeat(32), op: 'file.data', cid: 'r3', data });
    const { bytes, isBinary } = await got;
    expect(isBinary).toBe(true);
    const decoded = decodeBridgeFrame(new Uint8Array(bytes), BRIDGE_COMMAND);
    expect(decoded).toMatchObject({ ok: true, session: 'b'.repeat(32), cid: 'r3' });
    expect(decoded.ok && Buffer.from(decoded.data).equals(Buffer.from(data))).toBe(true);
    const text = nextFrame(ws);
    host.emit('mesh.command', { session: 'b'.repeat(32), op: 'file.close', cid: 'r3' });
    expect(await text).toEqual({ event: 'mesh.command', payload: { session: 'b'.repeat(32), op: 'file.close', cid: 'r3' } });
  });

  it('refuses malformed binary frames and file bytes as JSON text, counts each, and keeps serving', async () => {
    const ws = await authed();
    const good = encodeBridgeFrame({ kind: BRIDGE_REPORT, id: 1, session: 'a'.repeat(32), cid: 'h1', data: new Uint8Array(8) });
    const patched = (at: number, value: number): Buffer => {
      const b = Buffer.from(good);
      b[at] = value;
      return b;
    };
    const bad: Buffer[] = [
      Buffer.alloc(0),
      Buffer.from(good.subarray(0, 20)), // shorter than its header
      patched(0, BRIDGE_COMMAND), // an event's kind, from the client
      patched(0, 0x7f), // unknown kind
      patched(7, 'G'.charCodeAt(0)), // session not hex
      patched(37, 0), // channel id length 0
      patched(37, 200), // channel id length past the frame
      patched(38, 'x'.charCodeAt(0)), // channel id neither h nor r
      Buffer.concat([Buffer.from(good.subarray(0, 41)), Buffer.alloc(MAX_FILE_BRIDGE_BYTES + 1)]), // data over the cap
    ];
    for (const [i, frame] of bad.entries()) {
      const reply = await roundTrip(ws, frame, true);
      expect(reply, `case ${i}`).toMatchObject({ ok: false, error: { code: 'BINARY' } });
    }
    expect(server.stats().rejected.BINARY).toBe(bad.length);
    // The old JSON form of the same report (base64 text) is no longer a way in.
    const asText = await roundTrip(ws, JSON.stringify({ id: 3, call: 'mesh.report', args: { kind: 'file.data', session: 'a'.repeat(32), cid: 'h1', data: 'AAAA' } }));
    expect(asText).toMatchObject({ id: 3, ok: false, error: { code: 'BAD_ARGS' } });
    expect(host.calls).toHaveLength(0);
    expect(await roundTrip(ws, Buffer.from(good), true)).toEqual({ id: 1, ok: true, result: { ok: true } });
  });

  it('rejects an unknown call with UNKNOWN_CALL, echoing the id', async () => {
    const ws = await authed();
    for (const call of ['shell.exec', '__proto__', 'constructor', 'toString', 42]) {
      const reply = await roundTrip(ws, JSON.stringify({ id: 'req-1', call, args: {} }));
      expect(reply, String(call)).toMatchObject({ id: 'req-1', ok: false, error: { code: 'UNKNOWN_CALL' } });
    }
    expect(host.calls).toHaveLength(0);
  });

  it('rejects bad arguments with BAD_ARGS naming the field', async () => {
    const ws = await authed();
    const cases = [
      { call: 'messages.send', args: { to: 'not-an-id', text: 'hi' }, field: 'to' },
      { call: 'messages.send', args: { to: FAKE_USER_ID, text: '' }, field: 'text' },
      { call: 'contacts.add', args: { userId: FAKE_USER_ID, extra: true }, field: '' },
      { call: 'whoami', args: [], field: '' },
      { call: 'settings.update', args: { brokerUrl: 'not a url' }, field: 'brokerUrl' },
    ];
    for (const c of cases) {
      const reply = await roundTrip(ws, JSON.stringify({ id: 9, call: c.call, args: c.args }));
      expect(reply, c.call).toMatchObject({ id: 9, ok: false, error: { code: 'BAD_ARGS' } });
      expect(reply.error?.message).toContain(c.field);
    }
    expect(server.stats().rejected.BAD_ARGS).toBe(cases.length);
    expect(host.calls).toHaveLength(0);
  });

  it('passes a host error through with its code and keeps serving', async () => {
    const ws = await authed();
    host.failNext = Object.assign(new Error('Unknown contact; add them first.'), { code: 'NOT_A_CONTACT' });
    const reply = await roundTrip(ws, JSON.stringify({ id: 5, call: 'messages.send', args: { to: FAKE_USER_ID, text: 'hi' } }));
    expect(reply).toEqual({ id: 5, ok: false, error: { code: 'NOT_A_CONTACT', message: 'Unknown contact; add them first.' } });
    expect(await roundTrip(ws, JSON.stringify({ id: 6, call: 'messages.send', args: { to: FAKE_USER_ID, text: 'hi' } }))).toMatchObject({ id: 6, ok: true });
  });

  it('survives a burst of random garbage and counts every rejection', async () => {
    const ws = await authed();
    let rejectedReplies = 0;
    const all = new Promise<void>((resolve) => {
      ws.on('message', () => { if (++rejectedReplies === 200) resolve(); });
    });
    for (let i = 0; i < 200; i++) {
      const junk = Buffer.from(Array.from({ length: 1 + (i % 50) }, (_, j) => (i * 31 + j * 17) % 256)).toString('latin1');
      ws.send(junk);
    }
    await all;
    const rejected = Object.values(server.stats().rejected).reduce((a, b) => a + (b ?? 0), 0);
    expect(rejected).toBe(200);
    expect(await roundTrip(ws, JSON.stringify({ id: 7, call: 'whoami', args: {} }))).toMatchObject({ id: 7, ok: true });
  });
});

describe('web server: property', () => {
  it('answers any JSON value, and any {id, call, args} shape, with exactly one typed reply', async () => {
    const ws = await authed();
    const known = new Set(['BAD_JSON', 'SCHEMA', 'UNKNOWN_CALL', 'BAD_ARGS', 'NOT_IMPLEMENTED', 'OVERSIZE']);
    const callNames = fc.oneof(fc.constantFrom('whoami', 'messages.send', 'contacts.add', 'settings.update', 'status'), fc.string(), fc.jsonValue(), fc.constant({ toString: 0 }));
    const frames = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.record({ id: fc.oneof(fc.integer(), fc.string({ minLength: 1, maxLength: 64 })), call: callNames, args: fc.jsonValue() }).map((v) => JSON.stringify(v)),
    );
    await fc.assert(fc.asyncProperty(frames, async (frame) => {
      const reply = await roundTrip(ws, frame);
      expect(typeof reply.ok).toBe('boolean');
      if (!reply.ok) expect(known.has(reply.error?.code ?? ''), JSON.stringify(reply)).toBe(true);
    }), { numRuns: 300 });
    expect(await roundTrip(ws, JSON.stringify({ id: 'last', call: 'whoami', args: {} }))).toMatchObject({ id: 'last', ok: true });
  });
});

describe('web server: events', () => {
  it('forwards host events to authenticated clients and unsubscribes on close', async () => {
    const ws = await authed();
    const frame = nextFrame(ws);
    host.emit('signaling', { state: 'connected', attempt: 0 });
    expect(await frame).toEqual({ event: 'signaling', payload: { state: 'connected', attempt: 0 } });
    expect(host.listenerCount()).toBeGreaterThan(0);
    const done = closed(ws);
    ws.close();
    await done;
    await expect.poll(() => host.listenerCount()).toBe(0);
  });
});

describe('web server: static files', () => {
  it('serves index.html with a strict CSP and no caching', async () => {
    const res = await httpGet('/', `127.0.0.1:${server.port}`);
    expect(res.status).toBe(200);
    expect(res.body).toContain('Parley test');
    expect(String(res.headers['content-security-policy'])).toContain("default-src 'self'");
    expect(String(res.headers['content-security-policy'])).not.toContain('unsafe-eval');
    expect(res.headers['cache-control']).toBe('no-store');
    expect((await httpGet('/assets/app.js', `localhost:${server.port}`)).headers['content-type']).toContain('javascript');
  });

  it('does not serve files outside the renderer directory', async () => {
    for (const path of ['/../parley-web-secret.txt', '/%2e%2e/parley-web-secret.txt', '/assets/..%2f..%2fparley-web-secret.txt', '/%00']) {
      const res = await httpGet(path, `127.0.0.1:${server.port}`);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.body).not.toContain('secret');
    }
  });

  it('refuses a foreign Host header', async () => {
    const res = await httpGet('/', 'attacker.example');
    expect(res.status).toBe(403);
    expect(server.stats().rejected.BAD_HOST).toBe(1);
  });

  it('sends the same security headers with the 403 for a foreign Host as with a page', async () => {
    const page = await httpGet('/', `127.0.0.1:${server.port}`);
    const refused = await httpGet('/', 'attacker.example');
    expect(refused.status).toBe(403);
    for (const name of ['content-security-policy', 'x-content-type-options', 'referrer-policy', 'cross-origin-opener-policy', 'x-frame-options']) {
      expect(page.headers[name], name).toBeDefined();
      expect(refused.headers[name], name).toBe(page.headers[name]);
    }
  });

  it('does not follow symlinks out of the renderer directory', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'parley-web-outside-'));
    writeFileSync(join(outside, 'private.txt'), 'secret key material');
    symlinkSync(join(outside, 'private.txt'), join(rendererDir, 'leak.txt'));
    symlinkSync(outside, join(rendererDir, 'assets', 'dir'));
    symlinkSync('/etc/passwd', join(rendererDir, 'passwd.js'));
    for (const path of ['/leak.txt', '/assets/dir/private.txt', '/passwd.js']) {
      const res = await httpGet(path, `127.0.0.1:${server.port}`);
      expect(res.status, path).toBe(404);
      expect(res.body, path).not.toContain('secret');
      expect(res.body, path).not.toContain('root:');
    }
    // A symlink that stays inside the folder is still served.
    symlinkSync(join(rendererDir, 'assets', 'app.js'), join(rendererDir, 'alias.js'));
    expect((await httpGet('/alias.js', `127.0.0.1:${server.port}`)).body).toBe('console.log(1)');
  });
});
