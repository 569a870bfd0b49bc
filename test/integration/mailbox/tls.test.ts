// Issue 10, finding 18 for the mailbox wire: `parley mailbox node --tls-cert --tls-key` serves TLS to
// clients and peers (a 3-node cluster replicates over TLS links), with a CA made here by the openssl
// CLI. Clients check certificates normally: with the CA they are served; without it, with a
// certificate for another name, or in plain TCP they get nothing, and the node counts the refusal.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailboxClient, MailboxError } from '../../../src/server/mailbox/client';
import { TestCluster, freePort, waitFor } from './cluster';
import { RawConn } from './raw-conn';

function makeCa(dir: string): { ca: string; cert: string; key: string; wrongCert: string; wrongKey: string } {
  const run = (...args: string[]): Buffer => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Parley mailbox test CA');
  const issue = (name: string, san: string): void => {
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    writeFileSync(join(dir, `${name}.cnf`), `subjectAltName=${san}\n`);
    run('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.cnf`);
  };
  issue('node', 'DNS:localhost,IP:127.0.0.1');
  issue('elsewhere', 'DNS:elsewhere.example');
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'node.pem'), key: join(dir, 'node.key'), wrongCert: join(dir, 'elsewhere.pem'), wrongKey: join(dir, 'elsewhere.key') };
}

describe('mailbox cluster over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-mailbox-tls-'));
  let files: ReturnType<typeof makeCa>;
  let cluster: TestCluster;
  let client: MailboxClient;
  let ca: Buffer;

  beforeAll(async () => {
    files = makeCa(dir);
    ca = readFileSync(files.ca);
    cluster = await TestCluster.start({ size: 3, nodeArgs: ['--tls-cert', files.cert, '--tls-key', files.key], env: { PARLEY_CA_FILE: files.ca } });
    client = new MailboxClient({ seeds: cluster.seeds, clusterId: cluster.clusterId, tls: { ca } });
  }, 120_000);

  afterAll(async () => {
    client?.close();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('elects, replicates over TLS peer links and serves a client that trusts the CA', async () => {
    await client.create('box:tls');
    const { seq } = await client.append('box:tls', 'over tls');
    expect(seq).toBe(1);
    expect(await client.read('box:tls', 'reader')).toEqual({ seq: 1, data: 'over tls' });
    // committed on a majority: at least one follower got it over a TLS link
    const leader = await cluster.leader(client);
    const info = await client.cluster();
    expect(info.members.filter((m) => m.role === 'voter')).toHaveLength(3);
    expect(info.leader?.id).toBe(leader);
  });

  it('a client without the CA, or in plain TCP, is refused and the node counts it', async () => {
    const leader = await cluster.leader(client);
    const before = (await client.stats(cluster.addr(leader))).rejects.TLS_HANDSHAKE ?? 0;
    const untrusting = new MailboxClient({ seeds: [cluster.addr(leader)], clusterId: cluster.clusterId, tls: {}, timeoutMs: 2000 });
    const err = await untrusting.create('box:nope').then(() => null, (e: unknown) => e);
    untrusting.close();
    expect(err).toBeInstanceOf(MailboxError);
    expect(String((err as Error).message)).toMatch(/not trusted.*PARLEY_CA_FILE/);

    const plain = new MailboxClient({ seeds: [cluster.addr(leader)], clusterId: cluster.clusterId, timeoutMs: 2000 });
    const plainErr = await plain.create('box:nope').then(() => null, (e: unknown) => e);
    plain.close();
    expect(plainErr).toBeInstanceOf(MailboxError);

    // A plain-TCP "peer" gets no hello through either.
    const raw = await RawConn.open(cluster.addr(leader));
    raw.send({ type: 'PEER_HELLO', clusterId: cluster.clusterId, from: 'n9', to: leader, addr: null, nonce: 'a'.repeat(32) });
    await waitFor('plain socket closed', () => raw.closed, 10_000, 50);
    expect(raw.frames.filter((f) => f.type === 'PEER_CHALLENGE')).toHaveLength(0);

    const after = (await client.stats(cluster.addr(leader))).rejects.TLS_HANDSHAKE ?? 0;
    expect(after - before).toBeGreaterThanOrEqual(2);
  });

  it('a node whose certificate names another host is refused by a checking client', async () => {
    const port = await freePort();
    const p = spawn(process.execPath, ['bin/parley.mjs', 'mailbox', 'node', '--id', 'w1', '--port', String(port), '--data', join(dir, 'w1'), '--tls-cert', files.wrongCert, '--tls-key', files.wrongKey], {
      cwd: join(import.meta.dirname, '../../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await waitFor('w1 ready', () => new Promise<boolean>((r) => p.stdout!.once('data', (d: Buffer) => r(d.toString().includes('"ready"')))), 45_000, 10);
      const c = new MailboxClient({ seeds: [`127.0.0.1:${port}`], tls: { ca }, timeoutMs: 2000 });
      const e = await c.cluster().then(() => null, (x: unknown) => x);
      c.close();
      expect(e).toBeInstanceOf(MailboxError);
      expect(String((e as Error).message)).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
    } finally {
      p.kill('SIGKILL');
    }
  });

  it('parley server --mailbox with --tls-cert/--tls-key serves the mailbox over TLS too', async () => {
    const child = spawn(process.execPath, ['bin/parley.mjs', 'server', '--mqtt', '0', '--mailbox', '0', '--tls-cert', files.cert, '--tls-key', files.key, '--data', join(dir, 'server')], {
      cwd: join(import.meta.dirname, '../../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor('server ready line', () => out.includes('\n'), 45_000, 50);
      const ready = JSON.parse(out.split('\n')[0]!) as { mailbox: string };
      const c = new MailboxClient({ seeds: [ready.mailbox], tls: { ca } });
      try {
        await c.create('box:srv');
        expect((await c.append('box:srv', 'x')).seq).toBe(1);
      } finally {
        c.close();
      }
      const plain = new MailboxClient({ seeds: [ready.mailbox], timeoutMs: 2000 });
      await expect(plain.create('box:plain')).rejects.toBeInstanceOf(MailboxError);
      plain.close();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses --tls-cert without --tls-key, naming both', async () => {
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, ['bin/parley.mjs', 'mailbox', 'node', '--id', 'x', '--port', '0', '--data', join(dir, 'x'), '--tls-cert', files.cert], { cwd: join(import.meta.dirname, '../../..') });
      let stderr = '';
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('exit', (code) => resolve({ code, stderr }));
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--tls-cert and --tls-key/);
  });
});
