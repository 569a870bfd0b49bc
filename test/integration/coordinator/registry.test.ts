// A coordinator tells the registry what it is (seed 004 POST /coordinator/heartbeat): a real
// `parley server --registry` and real `parley peer` processes. Bob (--coordinator) announces
// coordinator:true and heartbeats; Carol does not. Someone looking up an offline user gets Bob among
// lastCoordinators (the registry's live coordinators, from heartbeats).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { RegistryClient } from '../../../src/main/registry/registry-client';
import { generateIdentity } from '../../../src/shared/identity';
import { eventually, HeadlessPeer, tempProfile } from '../../helpers/headless-peer';
import { startServerProcess, type ServerProcess } from '../../helpers/parley-server';

describe('coordinator heartbeats at the registry', () => {
  let server: ServerProcess;
  const peers: HeadlessPeer[] = [];

  beforeAll(async () => {
    server = await startServerProcess(['--mqtt', '0', '--mqtt-ws', '0', '--registry', '0', '--log-level', 'warn']);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.quit()));
    await server?.stop();
  });

  it('Bob is listed as a coordinator (announce and heartbeat), Carol is not', async () => {
    const args = ['--registry', String(server.ready.registry), '--mailbox', 'none'];
    const bob = await HeadlessPeer.start({ profile: tempProfile('bob'), name: 'bob', broker: String(server.ready.mqtt), extraArgs: [...args, '--coordinator'] });
    const carol = await HeadlessPeer.start({ profile: tempProfile('carol'), name: 'carol', broker: String(server.ready.mqtt), extraArgs: args });
    peers.push(bob, carol);

    const dave = generateIdentity();
    const registry = new RegistryClient({ baseUrl: String(server.ready.registry), identity: dave, signer: nodeSigner, timeoutMs: 10_000 });
    const active = await eventually(() => registry.activePeers('parley'), (ps) => ps.some((p) => p.userId === bob.userId) && ps.some((p) => p.userId === carol.userId), 60_000);
    expect(active.find((p) => p.userId === bob.userId)?.coordinator).toBe(true);
    expect(active.find((p) => p.userId === carol.userId)?.coordinator).toBe(false);
    // an offline user's record names the live coordinators: Bob (from his heartbeat), not Carol
    const offline = generateIdentity();
    const found = await eventually(() => registry.getPeer('parley', offline.userId), (r) => r.lastCoordinators.includes(bob.userId), 60_000);
    expect(found.online).toBe(false);
    expect(found.lastCoordinators).not.toContain(carol.userId);
    const { coordinator } = (await bob.ok({ op: 'stats' })) as { coordinator: { enabled: boolean } };
    expect(coordinator.enabled).toBe(true);
  }, 180_000);
});
