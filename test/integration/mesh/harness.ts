/** Shared helpers for the mesh tests: real @roamhq/wrtc, in-memory signaling, tracked connections. */
import * as wrtcModule from '@roamhq/wrtc';
import { Mesh, type MeshOptions, type MeshStateEvent } from '../../../src/renderer/mesh';
import { MemorySignalingBus } from '../../../src/renderer/mesh/memory-signaling';

// CommonJS package: Node's ESM loader exposes it as the default export, bundlers as named exports.
const wrtc = (wrtcModule as { default?: typeof wrtcModule }).default ?? wrtcModule;
export const WrtcPeerConnection = wrtc.RTCPeerConnection as typeof RTCPeerConnection;

export const ALICE = 'a'.repeat(63) + '1'; // lower id: polite
export const BOB = 'b'.repeat(63) + '2';
export const CAROL = 'c'.repeat(63) + '3';

/**
 * Every connection any test made, kept referenced until the worker exits: @roamhq/wrtc can crash
 * the process (native fault, "worker exited unexpectedly") when a closed RTCPeerConnection is
 * garbage-collected while hundreds are churned, which the glare rounds do.
 */
const KEEP_ALIVE: RTCPeerConnection[] = [];

/** Records every RTCPeerConnection a mesh creates and any in-band 'datachannel' it receives. */
export function trackedPeerConnection(): { Ctor: typeof RTCPeerConnection; instances: RTCPeerConnection[]; inbandChannels: () => number } {
  const instances: RTCPeerConnection[] = [];
  let inband = 0;
  const Base = WrtcPeerConnection;
  class Tracked extends Base {
    constructor(config?: RTCConfiguration) {
      super(config);
      instances.push(this);
      KEEP_ALIVE.push(this);
      this.addEventListener('datachannel', () => inband++);
    }
  }
  return { Ctor: Tracked, instances, inbandChannels: () => inband };
}

export function livePeerConnections(instances: RTCPeerConnection[]): number {
  return instances.filter((pc) => pc.signalingState !== 'closed').length;
}

export interface TestPeer {
  id: string;
  mesh: Mesh;
  states: MeshStateEvent[];
  frames: { from: string; frame: string }[];
  opens: string[];
  closes: string[];
  pcs: RTCPeerConnection[];
  inbandChannels: () => number;
}

export function startPeer(bus: MemorySignalingBus, id: string, opts: Partial<MeshOptions> = {}): TestPeer {
  const tracked = trackedPeerConnection();
  const mesh = new Mesh({ selfId: id, RTCPeerConnection: tracked.Ctor, signaling: bus.endpoint(id), ...opts });
  bus.attach(id, mesh);
  const peer: TestPeer = { id, mesh, states: [], frames: [], opens: [], closes: [], pcs: tracked.instances, inbandChannels: tracked.inbandChannels };
  mesh.on('state', (e) => peer.states.push(e));
  mesh.on('frame', (from, frame) => peer.frames.push({ from, frame }));
  mesh.on('open', (userId) => peer.opens.push(userId));
  mesh.on('close', (userId) => peer.closes.push(userId));
  return peer;
}

export function stopPeer(bus: MemorySignalingBus, peer: TestPeer): void {
  bus.detach(peer.id);
  peer.mesh.close();
  for (const pc of peer.pcs) if (pc.signalingState !== 'closed') pc.close();
}

export async function waitFor(what: string, predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Sends one frame each way and waits until both arrive. */
export async function exchange(a: TestPeer, b: TestPeer, tag: string): Promise<void> {
  const toB = `${tag}:${a.id.slice(0, 4)}→${b.id.slice(0, 4)}`;
  const toA = `${tag}:${b.id.slice(0, 4)}→${a.id.slice(0, 4)}`;
  if (!a.mesh.send(b.id, toB)) throw new Error(`send ${toB} refused`);
  if (!b.mesh.send(a.id, toA)) throw new Error(`send ${toA} refused`);
  await waitFor(`frames ${tag}`, () =>
    b.frames.some((f) => f.from === a.id && f.frame === toB) && a.frames.some((f) => f.from === b.id && f.frame === toA));
}

export function connected(a: TestPeer, b: TestPeer): boolean {
  return a.mesh.state(b.id) === 'CONNECTED' && b.mesh.state(a.id) === 'CONNECTED';
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
