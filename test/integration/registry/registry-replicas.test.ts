/**
 * Registry replicas are stateless: two `parley server --registry` processes over one PostgreSQL
 * (started at the same moment, so they also race on migrations) accept each other's tokens and
 * give identical answers. Restarting a process over the same storage loses nothing, on both dialects.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { RegistryClient } from '../../../src/main/registry/registry-client';
import { generateIdentity } from '../../../src/shared/identity';
import { withTimeout } from '../../../src/shared/timeout';
import { DIALECTS, http, newStorage, type Storage } from './helpers';

const FIXTURE = fileURLToPath(new URL('../signaling/fixtures/server-cli.ts', import.meta.url));
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
});

interface RegistryProcess {
  url: string;
  stop(): Promise<number | null>;
}

async function registryProcess(storage: Storage): Promise<RegistryProcess> {
  // On PostgreSQL the replicas share only the database: each gets a broker data folder of its own.
  const data = storage.dataDir ?? mkdtempSync(join(tmpdir(), 'parley-server-'));
  const args = ['--import', 'tsx', FIXTURE, 'server', '--registry', '0', '--data', data];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...storage.env } });
  if (!storage.dataDir) cleanups.push(() => rmSync(data, { recursive: true, force: true }));
  cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const line = await withTimeout(
    new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      void exited.then((code) => reject(new Error(`registry process exited ${code}: ${err.slice(-800)}`)));
    }),
    60_000,
    'registry ready line',
  );
  const ready = JSON.parse(line) as { registry: string };
  return {
    url: ready.registry,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

describe('registry replicas over one PostgreSQL', () => {
  it('accept each other’s tokens and give identical answers', async () => {
    const storage = newStorage('postgres');
    cleanups.push(() => storage.drop());
    const [a, b] = await Promise.all([registryProcess(storage), registryProcess(storage)]);
    const carol = generateIdentity();
    const viaA = new RegistryClient({ baseUrl: a.url, identity: carol, signer: nodeSigner });
    await viaA.announce('parley', { deviceId: 'carol-1', signalAddr: 'ws://signal.example/carol-1', canRelay: true, coordinator: true, ttlMs: 60_000 });
    await viaA.heartbeat({ networkId: 'parley', deviceId: 'carol-1', signalAddr: 'ws://signal.example/carol-1', peers: 2, stored: 5 });
    const token = await viaA.getToken();
    const alice = generateIdentity();
    const aliceToken = await new RegistryClient({ baseUrl: b.url, identity: alice, signer: nodeSigner }).getToken();

    for (const path of [`/network/parley/peer/${carol.userId}`, '/network/parley/active-peers', `/network/parley/peer/${alice.userId}`]) {
      for (const t of [token, aliceToken]) {
        const [fromA, fromB] = await Promise.all([a, b].map((r) => http(`${r.url}${path}`, { headers: { authorization: `Bearer ${t}` } })));
        expect(fromA!.status, path).toBe(200);
        expect(fromB).toEqual(fromA);
      }
    }
    const peer = await http(`${b.url}/network/parley/peer/${carol.userId}`, { headers: { authorization: `Bearer ${aliceToken}` } });
    expect(peer.body).toMatchObject({ online: true, signalAddr: 'ws://signal.example/carol-1' });
    // A challenge issued by one replica is redeemed at the other.
    const dave = generateIdentity();
    const challenge = (await http(`${a.url}/auth/challenge`, { body: { userId: dave.userId } })).body as { nonce: string };
    const { signRegistryAuth } = await import('../../../src/shared/schemas/registry');
    expect((await http(`${b.url}/auth/token`, { body: signRegistryAuth(challenge.nonce, dave, nodeSigner) })).status).toBe(200);
    expect((await http(`${a.url}/auth/token`, { body: signRegistryAuth(challenge.nonce, dave, nodeSigner) })).status).toBe(401);
    expect(await a.stop()).toBe(0);
    expect(await b.stop()).toBe(0);
  });
});

describe.each(DIALECTS)('registry process restart on %s', (dialect) => {
  it('loses nothing: the old token works and the peer is still there', async () => {
    const storage = newStorage(dialect);
    cleanups.push(() => storage.drop());
    const first = await registryProcess(storage);
    const me = generateIdentity();
    const c = new RegistryClient({ baseUrl: first.url, identity: me, signer: nodeSigner });
    await c.announce('parley', { deviceId: 'survivor', signalAddr: 'ws://h/survivor', canRelay: false, coordinator: false, ttlMs: 600_000 });
    const token = await c.getToken();
    const before = await http(`${first.url}/network/parley/peer/${me.userId}`, { headers: { authorization: `Bearer ${token}` } });
    expect(await first.stop()).toBe(0);
    const second = await registryProcess(storage);
    const after = await http(`${second.url}/network/parley/peer/${me.userId}`, { headers: { authorization: `Bearer ${token}` } });
    expect(after).toEqual(before);
    expect(after.body).toMatchObject({ online: true, signalAddr: 'ws://h/survivor' });
    expect(await second.stop()).toBe(0);
  });
});
