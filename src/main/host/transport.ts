/**
 * What the host needs from the WebRTC mesh. The Mesh class of src/renderer/mesh satisfies it
 * directly (headless peer, in-process with @roamhq/wrtc); in desktop and web mode a proxy
 * forwards the same calls to the mesh running in the renderer.
 */
import type { ConnectionState } from '../../shared/api';
import type { CandidatePair } from '../../shared/candidate-pair';
import type { MeshDiscoveryOptions } from '../../renderer/mesh';

export type SignalKind = 'offer' | 'answer' | 'iceCandidate';

export interface MeshSignalingPort {
  send(to: string, kind: SignalKind, payload: unknown): void;
}

export interface MeshStateEvent { userId: string; state: ConnectionState; attempt: number }

export interface MeshLike {
  connect(peerId: string): void;
  handleSignal(from: string, kind: SignalKind, payload: unknown): Promise<void>;
  send(peerId: string, frame: string): boolean;
  bufferedAmount(peerId: string): number;
  retry(peerId: string): void;
  /** Signaling over the route in use cannot reach the peer (NOT_ATTACHED): end the attempt now. */
  routeFailed?(peerId: string): void;
  disconnect(peerId: string): void;
  close(): void;
  /** ICE servers for connections made from now on. */
  setIceServers?(servers: RTCIceServer[]): void;
  state(peerId: string): ConnectionState;
  peers(): MeshStateEvent[];
  on(event: 'state', listener: (e: MeshStateEvent) => void): unknown;
  on(event: 'open', listener: (userId: string) => void): unknown;
  on(event: 'frame', listener: (userId: string, frame: string) => void): unknown;
  on(event: 'close', listener: (userId: string) => void): unknown;
  /** The open connection's selected ICE candidate pair, when first read and whenever it changes. */
  on(event: 'pair', listener: (userId: string, pair: CandidatePair) => void): unknown;
}

export type MeshFactory = (signaling: MeshSignalingPort, selfId: string, iceServers: RTCIceServer[], discovery?: MeshDiscoveryOptions) => MeshLike;
