/**
 * A hostile (or broken) registry answering `GET /ice`: whatever it sends, the host starts, keeps
 * its own ICE servers, hands RTCPeerConnection nothing from the bad answer, counts the refusal
 * (`ice:SCHEMA`) and tells the user what failed. A good answer, in the same harness, does arrive.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost } from '../../../src/main/host/host';
import { registryClientFactory } from '../../../src/main/host/reach-clients';
import type { ApiEvents } from '../../../src/shared/api';
import { eventually, tempProfile } from '../../helpers/headless-peer';

let iceBody: string;
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body: string;
    if (req.url === '/auth/challenge') body = JSON.stringify({ nonce: randomBytes(32).toString('base64'), expiresAt: new Date(Date.now() + 60_000).toISOString() });
    else if (req.url === '/auth/token') body = JSON.stringify({ token: randomBytes(32).toString('base64url'), expiresAt: new Date(Date.now() + 3600_000).toISOString() });
    else if (req.url === '/ice') body = iceBody;
    else body = JSON.stringify({ ok: true, expiresAt: new Date(Date.now() + 60_000).toISOString() });
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const OWN = 'stun:127.0.0.1:3478';
const future = new Date(Date.now() + 3600_000).toISOString();

async function hostAgainst(body: string): Promise<{ ice: RTCIceServer[][]; rejects: Record<string, number>; errors: Array<ApiEvents['error']> }> {
  iceBody = body;
  const ice: RTCIceServer[][] = [];
  const errors: Array<ApiEvents['error']> = [];
  const host = await startHost({
    profileDir: tempProfile('ice-hostile'), brokerUrl: 'none', registryUrl: url, mailbox: 'none', iceServers: [OWN],
    registryClientFactory,
    meshFactory: (_s, _self, iceServers) => {
      ice.push(iceServers);
      const mesh = {
        connect() {}, async handleSignal() {}, send: () => false, bufferedAmount: () => 0, retry() {}, disconnect() {}, close() {},
        state: () => 'DISCONNECTED' as const, peers: () => [], on: () => undefined,
        setIceServers: (s: RTCIceServer[]) => void ice.push(s),
      };
      return mesh;
    },
  });
  host.on('error', (e) => errors.push(e));
  try {
    await eventually(async () => errors.length + ice.length, () => ice.length > 0 && (errors.length > 0 || ice.some((l) => l.length > 1)), 20_000, 50);
    return { ice, rejects: host.rejectStats(), errors };
  } finally {
    await host.close();
  }
}

describe('hostile GET /ice answers', () => {
  it('a good answer is merged under the own entry (the harness can see server entries)', async () => {
    const r = await hostAgainst(JSON.stringify({ iceServers: [{ urls: ['turn:198.51.100.7:3478'], username: '1:u', credential: 'c' }, { urls: OWN }], expiresAt: future }));
    expect(r.ice.at(-1)).toEqual([{ urls: OWN }, { urls: ['turn:198.51.100.7:3478'], username: '1:u', credential: 'c' }]);
    expect(r.rejects['ice:SCHEMA'] ?? 0).toBe(0);
  });

  const hostile: Array<[string, string]> = [
    ['TURN without credentials (RTCPeerConnection would throw)', JSON.stringify({ iceServers: [{ urls: 'turn:198.51.100.7:3478' }], expiresAt: null })],
    ['a javascript: URL', JSON.stringify({ iceServers: [{ urls: 'javascript:alert(1)' }], expiresAt: null })],
    ['an http: URL', JSON.stringify({ iceServers: [{ urls: 'http://198.51.100.7/' }], expiresAt: null })],
    ['credentials inside the URL', JSON.stringify({ iceServers: [{ urls: 'turn:u:p@198.51.100.7:3478', username: 'u', credential: 'p' }], expiresAt: null })],
    ['100 servers', JSON.stringify({ iceServers: Array.from({ length: 100 }, (_, i) => ({ urls: `stun:198.51.100.${i}:3478` })), expiresAt: null })],
    ['a 100 kB credential', JSON.stringify({ iceServers: [{ urls: 'turn:198.51.100.7:3478', username: 'u', credential: 'x'.repeat(100_000) }], expiresAt: null })],
    ['control characters in a username', JSON.stringify({ iceServers: [{ urls: 'turn:198.51.100.7:3478', username: 'a\r\nb', credential: 'c' }], expiresAt: null })],
    ['urls of the wrong type', JSON.stringify({ iceServers: [{ urls: { $gt: '' } }], expiresAt: null })],
    ['a bad expiresAt', JSON.stringify({ iceServers: [], expiresAt: 'tomorrow' })],
    ['not JSON', '<html>hello</html>'],
    ['a 5 MB body', JSON.stringify({ iceServers: [], expiresAt: null, pad: 'x'.repeat(5 * 1024 * 1024) })],
    ['an array', '[]'],
  ];
  it.each(hostile)('%s: refused, counted, told; own ICE only', async (_what, body) => {
    const r = await hostAgainst(body);
    for (const list of r.ice) expect(list).toEqual([{ urls: OWN }]);
    expect(r.errors.map((e) => e.code)).toContain('ICE_SERVERS');
    expect(r.errors.find((e) => e.code === 'ICE_SERVERS')?.message).toMatch(/ICE\/TURN servers from the registry/);
    if (body.startsWith('{') || body.length > 1024 * 1024) expect(r.rejects['ice:SCHEMA']).toBeGreaterThanOrEqual(1);
  });
});
