/**
 * The host's view of a mesh that runs in the renderer (desktop and web mode: DESIGN section 1,
 * "renderer = transport"). Commands go out as `mesh.command` events; the renderer's reports come
 * back through the `mesh.report` call. Only the most recently attached renderer (its session id)
 * drives the mesh, so a second browser tab cannot double every connection.
 *
 * Until a renderer attaches there is no transport: peers stay DISCONNECTED and messages wait in
 * the outbox, exactly as when the network is down.
 */
import type { ApiArgs, ConnectionState, MeshCommand } from '../../shared/api';
import type { CandidatePair } from '../../shared/candidate-pair';
import { randomId } from '../../shared/ids';
import { TypedEmitter } from '../../shared/typed-emitter';
import type { MeshLike, MeshSignalingPort, MeshStateEvent, SignalKind } from './transport';
import { RemoteFileChannels } from './files/remote-channels';

type Report = ApiArgs<'mesh.report'>;
type WithoutSession<T> = T extends unknown ? Omit<T, 'session'> : never;

interface MeshEvents {
  state: MeshStateEvent;
  open: string;
  frame: { userId: string; frame: string };
  close: string;
  pair: { userId: string; pair: CandidatePair };
}

export class RemoteMesh implements MeshLike {
  private session: string | null = null;
  private readonly wanted = new Set<string>();
  private readonly states = new Map<string, MeshStateEvent>();
  private readonly events = new TypedEmitter<MeshEvents>();
  private signaling: MeshSignalingPort | null = null;
  /** The renderer's file-transfer channels, bridged (files/remote-channels.ts). */
  readonly fileChannels = new RemoteFileChannels((cmd) => {
    if (!this.session) return false;
    this.sendCommand({ ...cmd, session: this.session });
    return true;
  });

  constructor(private readonly sendCommand: (cmd: MeshCommand) => void) {}

  bindSignaling(signaling: MeshSignalingPort): void {
    this.signaling = signaling;
  }

  /** A renderer takes over the mesh; any earlier one is told to stand down. */
  attach(): { session: string; peers: string[] } {
    if (this.session) this.sendCommand({ session: this.session, op: 'detach' });
    this.session = randomId();
    this.fileChannels.reset();
    for (const userId of this.states.keys()) this.setState(userId, 'DISCONNECTED', 0);
    return { session: this.session, peers: [...this.wanted] };
  }

  isSession(session: string): boolean {
    return this.session !== null && session === this.session;
  }

  /** A report from the renderer; reports of a session that is no longer attached are stale. */
  report(r: Report): { ok: boolean; stale?: boolean } {
    if (r.session !== this.session) return { ok: false, stale: true };
    switch (r.kind) {
      case 'state':
        this.setState(r.userId, r.state, r.attempt);
        break;
      case 'open':
        // The channel is open whatever order the state report arrives in.
        if (this.state(r.userId) !== 'CONNECTED') this.setState(r.userId, 'CONNECTED', 0);
        this.events.emit('open', r.userId);
        break;
      case 'close':
        this.events.emit('close', r.userId);
        break;
      case 'frame':
        this.events.emit('frame', { userId: r.userId, frame: r.frame });
        break;
      case 'signal':
        this.signaling?.send(r.to, r.signal, r.payload);
        break;
      case 'pair':
        // Only a connection the host knows is open can have a pair in use.
        if (this.state(r.userId) === 'CONNECTED') this.events.emit('pair', { userId: r.userId, pair: r.pair });
        break;
      default:
        this.fileChannels.report(r);
    }
    return { ok: true };
  }

  private setState(userId: string, state: ConnectionState, attempt: number): void {
    const e = { userId, state, attempt };
    this.states.set(userId, e);
    this.events.emit('state', e);
  }

  private command(cmd: WithoutSession<MeshCommand>): void {
    if (this.session) this.sendCommand({ ...cmd, session: this.session });
  }

  connect(peerId: string): void {
    this.wanted.add(peerId);
    this.command({ op: 'connect', userId: peerId });
  }

  async handleSignal(from: string, kind: SignalKind, payload: unknown): Promise<void> {
    this.command({ op: 'signal', from, signal: kind, payload });
  }

  send(peerId: string, frame: string): boolean {
    if (!this.session || this.state(peerId) !== 'CONNECTED') return false;
    this.command({ op: 'send', userId: peerId, frame });
    return true;
  }

  /** Flow control is the WebSocket/IPC channel's own; the renderer's mesh drops nothing it accepts. */
  bufferedAmount(): number {
    return 0;
  }

  retry(peerId: string): void {
    this.wanted.add(peerId);
    this.command({ op: 'retry', userId: peerId });
  }

  routeFailed(peerId: string): void {
    this.command({ op: 'routeFailed', userId: peerId });
  }

  disconnect(peerId: string): void {
    this.wanted.delete(peerId);
    this.command({ op: 'disconnect', userId: peerId });
  }

  setIceServers(servers: RTCIceServer[]): void {
    this.command({ op: 'ice', iceConfig: servers.map(({ urls, username, credential }) => ({ urls, ...(username !== undefined ? { username } : {}), ...(credential !== undefined ? { credential } : {}) })) });
  }

  close(): void {
    if (this.session) this.sendCommand({ session: this.session, op: 'detach' });
    this.session = null;
    this.fileChannels.reset();
  }

  state(peerId: string): ConnectionState {
    return this.states.get(peerId)?.state ?? 'DISCONNECTED';
  }

  peers(): MeshStateEvent[] {
    return [...this.states.values()];
  }

  on(event: 'state', listener: (e: MeshStateEvent) => void): unknown;
  on(event: 'open', listener: (userId: string) => void): unknown;
  on(event: 'frame', listener: (userId: string, frame: string) => void): unknown;
  on(event: 'close', listener: (userId: string) => void): unknown;
  on(event: 'pair', listener: (userId: string, pair: CandidatePair) => void): unknown;
  on(event: keyof MeshEvents, listener: (...args: never[]) => void): unknown {
    if (event === 'frame') {
      const l = listener as (userId: string, frame: string) => void;
      return this.events.on('frame', ({ userId, frame }) => l(userId, frame));
    }
    if (event === 'pair') {
      const l = listener as (userId: string, pair: CandidatePair) => void;
      return this.events.on('pair', ({ userId, pair }) => l(userId, pair));
    }
    return this.events.on(event, listener as (payload: MeshEvents[typeof event]) => void);
  }
}
