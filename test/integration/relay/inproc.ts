/**
 * A Parley host in the test process on real WebRTC (@roamhq/wrtc), with its mesh in reach so a
 * test can play a hostile relay or a flooding contact: it sees the frames its peers send and
 * sends frames of its own making.
 */
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { startHost, type HostApi } from '../../../src/main/host/host';
import { loadOrCreateIdentity } from '../../../src/main/host/keystore';
import { nodeMeshFactory } from '../../../src/main/host/node-mesh';
import type { MeshLike } from '../../../src/main/host/transport';
import type { RelayLimits } from '../../../src/main/host/relay/relay-server';
import { encodeEnvelope, signEnvelope } from '../../../src/shared/envelope';
import type { Identity } from '../../../src/shared/identity';
import { eventually, tempProfile, type HeadlessPeer } from '../../helpers/headless-peer';

export interface InProcPeer {
  host: HostApi;
  identity: Identity;
  mesh: MeshLike;
  /** Every frame a peer sent us, in order. */
  frames: { from: string; frame: string }[];
  sendEnvelope(to: string, type: string, body: unknown): boolean;
}

export async function startInProc(opts: { broker: string; allowRelay?: boolean; relayLimits?: Partial<RelayLimits> }): Promise<InProcPeer> {
  const profileDir = tempProfile('relay-inproc');
  let mesh: MeshLike | null = null;
  const host = await startHost({
    profileDir, name: 'hostile', brokerUrl: opts.broker, mailbox: 'none',
    ...(opts.allowRelay ? { allowRelay: true } : {}), ...(opts.relayLimits ? { relayLimits: opts.relayLimits } : {}),
    meshFactory: (...args) => (mesh = nodeMeshFactory(...args)),
  });
  const identity = loadOrCreateIdentity(profileDir).identity;
  if (!mesh) throw new Error('mesh factory was not called');
  const m: MeshLike = mesh;
  const frames: { from: string; frame: string }[] = [];
  m.on('frame', (from, frame) => frames.push({ from, frame }));
  await eventually(() => host.handle('status', {}), (s) => s.signaling === 'connected');
  return {
    host, identity, mesh: m, frames,
    sendEnvelope: (to, type, body) => m.send(to, encodeEnvelope(signEnvelope({ type, to, body }, identity, nodeSigner))),
  };
}

/** Makes the in-process host and a headless peer accepted contacts, connected directly. */
export async function befriendInProc(h: InProcPeer, p: HeadlessPeer): Promise<void> {
  await p.signalingUp(180_000);
  await h.host.handle('contacts.add', { userId: p.userId, name: 'peer' });
  await p.waitFor((l) => l.event === 'contactRequest' && l.userId === h.host.userId, 180_000);
  await p.ok({ op: 'contact.accept', userId: h.host.userId }, 180_000);
  await eventually(() => h.host.handle('contacts.list', {}), (cs) => cs.some((c) => c.userId === p.userId && c.state === 'accepted'), 60_000);
  await eventually(async () => h.mesh.state(p.userId), (s) => s === 'CONNECTED', 120_000);
}
