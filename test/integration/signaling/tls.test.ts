/**
 * `parley server --tls-cert --tls-key`: mqtts:// and wss:// with a certificate from a CA made here
 * with the openssl CLI. Clients check certificates normally: with the CA file they connect, without
 * it (or with the wrong host name) they are refused and say why; plain MQTT gets nothing.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, newClient, startClient } from './helpers';

const FIXTURE = fileURLToPath(new URL('./fixtures/server-cli.ts', import.meta.url));

function makeCa(dir: string): { ca: string; cert: string; key: string; wrongCert: string } {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Parley test CA');
  const issue = (name: string, san: string) => {
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    writeFileSync(join(dir, `${name}.cnf`), `subjectAltName=${san}\n`);
    run('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.cnf`);
  };
  issue('server', 'DNS:localhost,IP:127.0.0.1');
  // Same CA, same key type, but issued for another name: only the host-name check can refuse it.
  issue('elsewhere', 'DNS:elsewhere.example');
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), wrongCert: join(dir, 'elsewhere.pem') };
}

function startServer(args: string[]): { child: ChildProcess; ready: Promise<Record<string, string>>; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, 'server', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const ready = eventually(() => out, (text) => text.includes('\n') || child.exitCode !== null, 45_000, 'ready line').then(() => {
    if (!out.includes('\n')) throw new Error(`parley server exited ${child.exitCode}: ${err}`);
    return JSON.parse(out.trim()) as Record<string, string>;
  });
  ready.catch(() => undefined); // awaited by the tests that need it
  return { child, ready, stderr: () => err };
}

describe('parley server with --tls-cert/--tls-key', () => {
  let dir: string;
  let files: ReturnType<typeof makeCa>;
  let server: ReturnType<typeof startServer>;
  let ready: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-tls-'));
    files = makeCa(dir);
    server = startServer(['--mqtt', '0', '--mqtt-ws', '0', '--tls-cert', files.cert, '--tls-key', files.key, '--data', join(dir, 'server')]);
    ready = await server.ready;
  }, 60_000);

  afterAll(() => {
    server?.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves mqtts:// and wss://, and clients trusting the CA exchange messages over both', async () => {
    expect(ready.mqtt).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.mqttWs).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/mqtt$/);
    const ca = readFileSync(files.ca);
    const a = await startClient(ready.mqtt!, { ca });
    const b = await startClient(ready.mqttWs!, { ca });
    try {
      // 'connected' comes before the broker has processed b's SUBSCRIBE: resend until it is in place.
      const resend = setInterval(() => a.sig.send(b.identity.userId, 'contactRequest', { name: 'over tls', deviceId: a.deviceId }), 500);
      try {
        await eventually(() => b.messages.length, (n) => n >= 1, 20_000, 'message over mqtts to wss');
      } finally {
        clearInterval(resend);
      }
      expect(b.messages[0]).toMatchObject({ type: 'contactRequest', from: a.identity.userId });
    } finally {
      await Promise.all([a.sig.stop(), b.sig.stop()]);
    }
  }, 60_000);

  it('a client that does not trust the CA is refused with the certificate error, and never connects', async () => {
    for (const url of [ready.mqtt!, ready.mqttWs!]) {
      const c = newClient(url);
      const errors: string[] = [];
      c.sig.on('brokerError', ({ message }) => errors.push(message));
      c.sig.start();
      try {
        await eventually(() => errors.length, (n) => n >= 1, 20_000, `certificate refusal on ${url}`);
        expect(errors.join(' ')).toMatch(/self[- ]signed|unable to (get|verify)|certificate/i);
        expect(c.states).not.toContain('connected:0');
      } finally {
        await c.sig.stop();
      }
    }
  }, 60_000);

  it('the certificate is checked against the host name', async () => {
    const wrong = startServer(['--mqtt', '0', '--mqtt-ws', '0', '--tls-cert', files.wrongCert, '--tls-key', join(dir, 'elsewhere.key'), '--data', join(dir, 'wrong')]);
    try {
      const wrongReady = await wrong.ready;
      const c = newClient(wrongReady.mqtt!, { ca: readFileSync(files.ca) });
      const errors: string[] = [];
      c.sig.on('brokerError', ({ message }) => errors.push(message));
      c.sig.start();
      try {
        await eventually(() => errors.length, (n) => n >= 1, 20_000, 'host name refusal');
        expect(errors.join(' ')).toMatch(/altnames|does not match/i);
        expect(c.states.some((s) => s.startsWith('connected'))).toBe(false);
      } finally {
        await c.sig.stop();
      }
    } finally {
      wrong.child.kill('SIGKILL');
    }
  }, 90_000);

  it('plain MQTT on the TLS port gets no CONNACK', async () => {
    const port = Number(new URL(ready.mqtt!).port);
    const received = await new Promise<Buffer>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(Buffer.concat(chunks)));
      // CONNECT, MQTT 3.1.1, clean session, keepalive 30, clientId "x"
      socket.write(Buffer.from([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x1e, 0x00, 0x01, 0x78]));
      setTimeout(() => socket.destroy(), 3000);
    });
    expect(received[0]).not.toBe(0x20); // 0x20 = CONNACK
  }, 30_000);

  it('refuses a certificate without its key, naming the flags', async () => {
    const bad = startServer(['--mqtt', '0', '--tls-cert', files.cert, '--data', join(dir, 'bad')]);
    const code = await new Promise<number | null>((resolve) => bad.child.once('exit', resolve));
    expect(code).toBe(2);
    expect(bad.stderr()).toMatch(/--tls-cert and --tls-key go together/);
  }, 60_000);
});
