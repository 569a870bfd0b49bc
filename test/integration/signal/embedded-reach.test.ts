/** The first-run embedded background server also serves signal and registry on its loopback ports. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { RegistryClient } from '../../../src/main/registry/registry-client';
import { WsSignalClient } from '../../../src/main/signaling/ws-signal-client';
import { readEmbeddedInfo } from '../../../src/server/embedded/proof';
import { generateIdentity } from '../../../src/shared/identity';
import { withTimeout } from '../../../src/shared/timeout';
import { embeddedEnv } from '../../helpers/embedded-env';
import { waitFor } from './helpers';

describe('embedded background server: signal and registry', () => {
  it('serve on the env-chosen loopback ports, with the registry data in the embedded folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-embedded-reach-'));
    Object.assign(process.env, { ...(await embeddedEnv(600_000)), PARLEY_EMBEDDED_DATA_DIR: dir });
    // Read after the env is set: the ports are fixed at import.
    const embedded = await import('../../../src/main/host/embedded-servers');
    expect(embedded.EMBEDDED_SIGNAL_URL).toBe(`ws://127.0.0.1:${process.env.PARLEY_EMBEDDED_SIGNAL_PORT}`);
    let pid: number | undefined;
    try {
      await embedded.ensureEmbeddedServers(60_000);
      pid = readEmbeddedInfo(dir)?.pid;
      expect(pid).toBeGreaterThan(0);
      const a = new WsSignalClient({ serverUrl: embedded.EMBEDDED_SIGNAL_URL, deviceId: 'dev-a', identity: generateIdentity(), signer: nodeSigner });
      const b = new WsSignalClient({ serverUrl: embedded.EMBEDDED_SIGNAL_URL, deviceId: 'dev-b', identity: generateIdentity(), signer: nodeSigner });
      const got: string[] = [];
      b.on('frame', (f) => got.push(f.body));
      await withTimeout(Promise.all([a.start(), b.start()]), 30_000, 'signal READY');
      a.send({ type: 'OFFER', to: 'dev-b', body: 'via the embedded signal server' });
      await waitFor(() => got.length === 1, 'forwarded');

      const me = generateIdentity();
      const registry = new RegistryClient({ baseUrl: embedded.EMBEDDED_REGISTRY_URL, identity: me, signer: nodeSigner, timeoutMs: 20_000 });
      await registry.announce('parley', { deviceId: 'dev-a', signalAddr: a.signalAddr, canRelay: false, coordinator: false });
      expect(await registry.getPeer('parley', me.userId)).toMatchObject({ online: true, signalAddr: a.signalAddr });
      await Promise.all([a.stop(), b.stop()]);
    } finally {
      if (pid) process.kill(pid, 'SIGTERM');
      await new Promise((r) => setTimeout(r, 1000));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
