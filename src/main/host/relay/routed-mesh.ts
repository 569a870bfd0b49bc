/**
 * The mesh as delivery sees it: a contact is reachable over its direct channel when that is open,
 * otherwise through the relay carrying it (relay-client.ts). Everything else is the direct mesh's.
 * When a direct channel opens later it wins at once: the next frame goes direct, and the outbox's
 * resend on open plus the receiver's de-duplication by id mean nothing is lost or shown twice.
 */
import type { ConnectionState } from '../../../shared/api';
import type { MeshLike, MeshStateEvent, SignalKind } from '../transport';
import type { CandidatePair } from '../../../shared/candidate-pair';
import type { RelayClient } from './relay-client';

export class RoutedMesh implements MeshLike {
  constructor(private readonly direct: MeshLike, private readonly relay: RelayClient) {}

  /** 'direct', 'relay' or null (no path now). */
  pathOf(peerId: string): 'direct' | 'relay' | null {
    if (this.direct.state(peerId) === 'CONNECTED') return 'direct';
    return this.relay.isRelayed(peerId) ? 'relay' : null;
  }

  state(peerId: string): ConnectionState {
    const s = this.direct.state(peerId);
    return s !== 'CONNECTED' && this.relay.isRelayed(peerId) ? 'CONNECTED' : s;
  }

  send(peerId: string, frame: string): boolean {
    if (this.direct.state(peerId) === 'CONNECTED') return this.direct.send(peerId, frame);
    return this.relay.send(peerId, frame);
  }

  bufferedAmount(peerId: string): number {
    if (this.direct.state(peerId) === 'CONNECTED') return this.direct.bufferedAmount(peerId);
    return this.relay.bufferedAmount(peerId);
  }

  connect(peerId: string): void { this.direct.connect(peerId); }
  handleSignal(from: string, kind: SignalKind, payload: unknown): Promise<void> { return this.direct.handleSignal(from, kind, payload); }
  retry(peerId: string): void { this.direct.retry(peerId); }
  routeFailed(peerId: string): void { this.direct.routeFailed?.(peerId); }
  disconnect(peerId: string): void { this.direct.disconnect(peerId); }
  close(): void { this.direct.close(); }
  peers(): MeshStateEvent[] { return this.direct.peers().map((p) => ({ ...p, state: this.state(p.userId) })); }
  on(event: 'state', listener: (e: MeshStateEvent) => void): unknown;
  on(event: 'open', listener: (userId: string) => void): unknown;
  on(event: 'frame', listener: (userId: string, frame: string) => void): unknown;
  on(event: 'close', listener: (userId: string) => void): unknown;
  on(event: 'pair', listener: (userId: string, pair: CandidatePair) => void): unknown;
  on(event: 'state' | 'open' | 'frame' | 'close' | 'pair', listener: (...args: never[]) => void): unknown {
    return (this.direct.on as (e: string, l: (...args: never[]) => void) => unknown)(event, listener);
  }
}
