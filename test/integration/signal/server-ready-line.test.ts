/** `parley server --signal 0 --registry 0`: the ready line names both, both serve, SIGTERM stops them. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { RegistryClient } from '../../../src/main/registry/registry-client';
import { WsSignalClient } from '../../../src/main/signaling/ws-signal-client';
import { generateIdentity } from '../../../src/shared/identity';
import { withTimeout } from '../../../src/shared/timeout';
import { waitFor } from './helpers';

const FIXTURE = fileURLToPath(new URL('../signaling/fixtures/server-cli.ts', import.meta.url));

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('parley server --signal 0 --registry 0', () => {
  it('prints one ready line with mqtt, mqttWs, signal and registry; both serve; SIGTERM closes every port', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-ready-'));
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, 'server', '--mqtt', '0', '--mqtt-ws', '0', '--signal', '0', '--registry', '0', '--network', 'parley,office', '--data', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => out.includes('\n') || child.exitCode !== null, `ready line (stderr: ${err})`, undefined, 60_000);
      const lines = out.trim().split('\n');
      expect(lines).toHaveLength(1);
      const ready = JSON.parse(lines[0]!) as Record<string, string>;
      expect(ready).toMatchObject({ ready: true });
      expect(ready.signal).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
      expect(ready.registry).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(ready.mqtt).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);

      const me = generateIdentity();
      const registry = new RegistryClient({ baseUrl: ready.registry!, identity: me, signer: nodeSigner });
      await registry.announce('office', { deviceId: 'dev-a', signalAddr: `${ready.signal}/dev-a`, canRelay: false, coordinator: false });
      expect(await registry.getPeer('office', me.userId)).toMatchObject({ online: true, signalAddr: `${ready.signal}/dev-a` });
      await expect(registry.activePeers('elsewhere')).rejects.toMatchObject({ status: 404 });
      expect(existsSync(join(dataDir, 'registry', 'registry.sqlite'))).toBe(true);

      const clients = ['dev-a', 'dev-b'].map(
        (deviceId) => new WsSignalClient({ serverUrl: ready.signal!, deviceId, identity: generateIdentity(), signer: nodeSigner }),
      );
      const [a, b] = clients as [WsSignalClient, WsSignalClient];
      const got: string[] = [];
      b.on('frame', (f) => got.push(f.body));
      await withTimeout(Promise.all(clients.map((c) => c.start())), 20_000, 'both READY');
      a.send({ type: 'OFFER', to: 'dev-b', body: 'through parley server' });
      await waitFor(() => got.includes('through parley server'), 'frame forwarded');
      await Promise.all(clients.map((c) => c.stop()));

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      for (const key of ['mqtt', 'signal', 'registry']) expect(await portOpen(Number(new URL(ready[key]!).port)), key).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
