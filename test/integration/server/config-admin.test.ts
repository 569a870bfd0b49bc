/**
 * `parley server` as an operator meets it: a bad config file is refused with a clear message and
 * exit code 2; /healthz and /metrics live on the admin port only, not on the public ports unless
 * asked; --host and --public-url shape the ready line.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runServer, startServerProcess, type ServerProcess } from '../../helpers/parley-server';

const dir = mkdtempSync(join(tmpdir(), 'parley-config-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const running: ServerProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

async function get(url: string): Promise<{ status: number; text: string; type: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
}

describe('parley server --config: bad files', () => {
  const unreadable = file('unreadable.json', '{}');
  chmodSync(unreadable, 0o000);
  const cases: Array<[string, string, RegExp]> = [
    ['unknown top-level key', file('unknown.yaml', 'host: 127.0.0.1\nmqttt: 1883\n'), /unknown key "mqttt"/],
    ['unknown nested key', file('nested.json', JSON.stringify({ turn: { urls: ['turn:x'], secret: 'abcdefghij', ttl: 5 } })), /unknown key "ttl" in turn/],
    ['wrong type', file('type.json', JSON.stringify({ mqtt: 'eighteen' })), /mqtt: .*number/i],
    ['port out of range', file('range.yaml', 'admin: 70000\n'), /admin: /],
    ['bad URL', file('url.yaml', 'publicUrl: "not a url"\n'), /publicUrl: must be a URL/],
    ['ICE server that is not a STUN/TURN URL', file('ice-url.yaml', 'iceServers:\n  - urls: "http://stun.example.org"\n'), /iceServers\.0\.urls: ICE server "http:\/\/stun\.example\.org" must start with stun:/],
    ['static TURN without credentials', file('ice-turn.yaml', 'iceServers:\n  - urls: "turn:turn.example.org:3478"\n'), /a TURN server needs username and credential/],
    ['turn.urls naming a STUN server', file('turn-stun.json', JSON.stringify({ turn: { urls: ['stun:x.example.org'], secret: 'abcdefghij' } })), /turn\.urls are turn: or turns: URLs/],
    ['turn.secret too short', file('turn-secret.json', JSON.stringify({ turn: { urls: ['turn:x.example.org'], secret: 'short' } })), /turn\.secret: /],
    ['not YAML', file('broken.yaml', 'host: [unclosed\n'), /not valid/],
    ['missing file', join(dir, 'nope.yaml'), /cannot read config file .*nope\.yaml/],
    // root can read a 000 file, so use a directory for the unreadable case when running as root
    ['unreadable (a directory)', dir, /cannot read config file/],
  ];
  it.each(cases)('%s: clear error, exit code 2, nothing listening', async (_what, path, message) => {
    const run = runServer(['--config', path]);
    const code = await run.exited;
    expect(code).toBe(2);
    expect(run.stderr()).toMatch(message);
    expect(run.stdout()).toBe('');
  }, 60_000);

  it('a flag with a bad value is refused the same way', async () => {
    const run = runServer(['--public-url', 'nope']);
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toMatch(/publicUrl: must be a URL/);
  }, 60_000);
});

describe('parley server: addresses and the admin port', () => {
  it('serves /healthz and /metrics on --admin only; the public ports answer neither', async () => {
    const config = file('good.yaml', ['host: 127.0.0.1', 'publicUrl: "https://chat.example.org"', 'iceServers:', '  - urls: "stun:stun.example.org:3478"', 'turn:', '  urls: ["turn:turn.example.org:3478"]', '  secret: "0123456789abcdef"', ''].join('\n'));
    const server = await startServerProcess(['--config', config, '--admin', '0', '--mailbox', '0', '--log-level', 'info']);
    running.push(server);
    const { ready } = server;
    // peers are told the public name, on the ports actually listened on, with secure schemes
    expect(ready.mqtt).toMatch(/^mqtts:\/\/chat\.example\.org:\d+$/);
    expect(ready.mqttWs).toMatch(/^wss:\/\/chat\.example\.org:\d+\/mqtt$/);
    expect(ready.admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const health = await get(`${String(ready.admin)}/healthz`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toMatchObject({ ok: true, state: 'serving', components: ['mqtt', 'mailbox'] });
    const metrics = await get(`${String(ready.admin)}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.type).toContain('text/plain');
    for (const name of ['parley_broker_connections', 'parley_broker_messages_routed_total', 'parley_broker_pending_deliveries', 'parley_broker_queued_bytes', 'parley_broker_sessions', 'parley_mailbox_role{role="leader"}', 'parley_mailbox_term', 'parley_mailbox_commit_index', 'parley_process_cpu_seconds_total']) {
      expect(metrics.text).toContain(name);
    }

    const wsPort = new URL(String(ready.mqttWs)).port;
    for (const path of ['/metrics', '/healthz']) {
      const res = await get(`http://127.0.0.1:${wsPort}${path}`);
      expect(res.status).toBe(426);
      expect(res.text).not.toContain('parley_');
    }
    // the MQTT TCP port speaks MQTT, not HTTP: an HTTP request gets no metrics back
    const tcpPort = new URL(String(ready.mqtt)).port;
    const answer = await fetch(`http://127.0.0.1:${tcpPort}/metrics`).then((r) => r.text(), () => '');
    expect(answer).not.toContain('parley_');
    // logs are pino JSON on stderr
    const logs = server.stderr().trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(logs.map((l) => l.msg)).toContain('parley server ready');
  }, 90_000);

  it('serves them on the public WebSocket port only when publicAdmin is set', async () => {
    const config = file('public-admin.json', JSON.stringify({ publicAdmin: true }));
    const server = await startServerProcess(['--config', config]);
    running.push(server);
    expect(server.ready.admin).toBeUndefined();
    const wsPort = new URL(String(server.ready.mqttWs)).port;
    const res = await get(`http://127.0.0.1:${wsPort}/metrics`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('parley_broker_connections');
  }, 90_000);

  it('--host 0.0.0.0 listens on every address', async () => {
    const server = await startServerProcess(['--host', '0.0.0.0', '--public-url', 'mqtt://198.51.100.7']);
    running.push(server);
    expect(server.ready.mqtt).toMatch(/^mqtt:\/\/198\.51\.100\.7:\d+$/);
    const port = new URL(String(server.ready.mqtt)).port;
    const { connect } = await import('node:net');
    const { networkInterfaces } = await import('node:os');
    const other = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    const target = other ?? '127.0.0.1';
    await new Promise<void>((resolvePromise, reject) => {
      const s = connect(Number(port), target, () => {
        s.destroy();
        resolvePromise();
      });
      s.once('error', reject);
    });
  }, 90_000);
});
