/**
 * Two real hosts on Mosquitto, contacts, with Alice's mesh bridged (mesh.attach) so a test can
 * inject frames from Bob exactly where the renderer's mesh hands them over (mesh.report) and see
 * what Alice sends as mesh commands.
 */
import { startHost, type HostApi } from '../../src/main/host/host';
import { loadOrCreateIdentity } from '../../src/main/host/keystore';
import type { MeshCommand } from '../../src/shared/api';
import type { Identity } from '../../src/shared/identity';
import { MOSQUITTO_URL } from './brokers';
import { eventually, tempProfile } from './headless-peer';

export interface BridgedHosts {
  alice: HostApi;
  bob: HostApi;
  bobIdentity: Identity;
  aliceProfile: string;
  session: string;
  /** Every mesh command Alice's host has issued since the bridge was attached. */
  commands: MeshCommand[];
  close(): Promise<void>;
}

export async function startBridgedHosts(tag: string): Promise<BridgedHosts> {
  const aliceProfile = tempProfile(`${tag}-alice`);
  const bobProfile = tempProfile(`${tag}-bob`);
  const alice = await startHost({ profileDir: aliceProfile, name: 'alice', brokerUrl: MOSQUITTO_URL });
  const bob = await startHost({ profileDir: bobProfile, name: 'bob', brokerUrl: MOSQUITTO_URL });
  const bobIdentity = loadOrCreateIdentity(bobProfile).identity;
  for (const h of [alice, bob]) await eventually(() => h.handle('status', {}), (s) => s.signaling === 'connected');
  const asked = new Promise((r) => bob.on('contactRequest', r));
  await alice.handle('contacts.add', { userId: bob.userId });
  await asked;
  await bob.handle('contacts.respond', { userId: alice.userId, accept: true });
  await eventually(() => alice.handle('contacts.list', {}), (cs) => cs[0]?.state === 'accepted');
  const commands: MeshCommand[] = [];
  alice.on('mesh.command', (c) => commands.push(c));
  const { session } = await alice.handle('mesh.attach', {});
  await alice.handle('mesh.report', { kind: 'state', session, userId: bob.userId, state: 'CONNECTED', attempt: 0 });
  return { alice, bob, bobIdentity, aliceProfile, session, commands, close: async () => { await Promise.all([alice.close(), bob.close()]); } };
}
