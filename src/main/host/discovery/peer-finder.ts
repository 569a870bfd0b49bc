/**
 * PEER_QUERY, PEER_FOUND and NETWORK_STATE over the data channels (seed 004 step 3, DESIGN
 * section 6). Direct peers tell each other, in NETWORK_STATE, whom they are connected to and where
 * they can be signaled; that table answers PEER_QUERY. A query is answered only to a contact and
 * only about a direct peer that lets itself be found; a PEER_FOUND counts only as the answer to a
 * query we sent to that very peer. Every table here is capped.
 */
import type { RouteHint } from '../../../shared/discovery';
import type { Signer } from '../../../shared/crypto';
import { encodeEnvelope, signEnvelope, type Envelope } from '../../../shared/envelope';
import type { RejectCounter } from '../../../shared/errors';
import type { Identity } from '../../../shared/identity';
import { randomId } from '../../../shared/ids';
import { KeyedBuckets } from '../../../shared/rate-limit/keyed-buckets';
import { MAX_NETWORK_STATE_ADDRS, MAX_NETWORK_STATE_PEERS, type DataChannelBodies } from '../../../shared/schemas/datachannel';
import type { MeshLike } from '../transport';

export const NETWORK_STATE_INTERVAL_MS = 30_000;
/** Connection-set changes within this window go out as one NETWORK_STATE. */
export const NETWORK_STATE_DEBOUNCE_MS = 250;
export const MAX_PENDING_QUERIES = 256;
export const MAX_NEIGHBOURS = 256;
/** Queries answered per asking peer: a burst, then this many per second. */
const QUERY_BURST = 20;
const QUERIES_PER_SECOND = 10;

export interface Neighbour {
  peers: string[];
  signalAddrs: string[];
  discoverable: boolean;
  canRelay: boolean;
  storesFor: string[];
  at: number;
}

export interface PeerFinderDeps {
  identity: Identity;
  signer: Signer;
  mesh: MeshLike;
  rejects: RejectCounter;
  isContact: (userId: string) => boolean;
  /** The "let contacts find me" setting. */
  discoverable: () => boolean;
  /** The "relay for my contacts" setting, advertised as seed 004's canRelay. */
  canRelay?: () => boolean;
  ownSignalAddrs: () => string[];
  /** Whom this device holds stored messages for, as told to `peer` (empty unless it is a coordinator). */
  storesFor?: (peer: string) => string[];
  /** Whether the asker could use this address (so an answer names one it can reach, if any). */
  preferAddr?: (addrs: string[]) => string | null;
  now?: () => number;
}

interface PendingQuery {
  target: string;
  asked: Set<string>;
  accept: (addr: string, from: string) => boolean;
  resolve: (hint: RouteHint | null) => void;
}

export interface PeerFinderStats {
  queriesSent: number;
  queriesAnswered: number;
  queriesRefused: number;
  foundAccepted: number;
  networkStatesSent: number;
  networkStatesReceived: number;
}

export class PeerFinder {
  private readonly now: () => number;
  private readonly neighbours = new Map<string, Neighbour>();
  private readonly pending = new Map<string, PendingQuery>();
  private readonly queryRate = new KeyedBuckets({ burst: QUERY_BURST, perSecond: QUERIES_PER_SECOND }, MAX_NEIGHBOURS);
  private debounce: ReturnType<typeof setTimeout> | undefined;
  private interval: ReturnType<typeof setInterval> | undefined;
  readonly counters: PeerFinderStats = {
    queriesSent: 0, queriesAnswered: 0, queriesRefused: 0, foundAccepted: 0, networkStatesSent: 0, networkStatesReceived: 0,
  };

  constructor(private readonly deps: PeerFinderDeps, private readonly intervalMs = NETWORK_STATE_INTERVAL_MS) {
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    this.interval = setInterval(() => this.sendNetworkState(), this.intervalMs);
    this.interval.unref?.();
  }

  stop(): void {
    clearInterval(this.interval);
    clearTimeout(this.debounce);
    for (const q of this.pending.values()) q.resolve(null);
    this.pending.clear();
  }

  /** A channel opened or closed: the connection set changed, so tell the direct peers (debounced). */
  connectionsChanged(closed?: string): void {
    if (closed) this.neighbours.delete(closed);
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.sendNetworkState(), NETWORK_STATE_DEBOUNCE_MS);
    this.debounce.unref?.();
  }

  neighbour(userId: string): Neighbour | undefined {
    return this.neighbours.get(userId);
  }

  /** Peers whose data channel is open now. */
  connected(): string[] {
    return this.deps.mesh.peers().filter((p) => p.state === 'CONNECTED').map((p) => p.userId);
  }

  /**
   * Asks `among` (default: every connected peer but the target) where `target` is; resolves with
   * the first PEER_FOUND naming an address `accept` takes from that peer, or null after `timeoutMs`.
   */
  find(target: string, timeoutMs: number, accept: (addr: string, from: string) => boolean, among?: string[]): Promise<RouteHint | null> {
    const asked = (among ?? this.connected()).filter((p) => p !== target && this.deps.mesh.state(p) === 'CONNECTED');
    if (asked.length === 0 || this.pending.size >= MAX_PENDING_QUERIES) return Promise.resolve(null);
    const requestId = randomId();
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(null), timeoutMs);
      const finish = (hint: RouteHint | null): void => {
        clearTimeout(timer);
        if (this.pending.delete(requestId)) resolve(hint);
      };
      this.pending.set(requestId, { target, asked: new Set(asked), accept, resolve: finish });
      for (const peer of asked) {
        if (this.sendEnvelope(peer, 'PEER_QUERY', { lookingFor: target, requestId })) this.counters.queriesSent++;
      }
    });
  }

  /** A validated PEER_QUERY, PEER_FOUND or NETWORK_STATE from `from` (signature already checked). */
  onEnvelope(from: string, env: Envelope): void {
    switch (env.type) {
      case 'PEER_QUERY': return this.onQuery(from, env.body as DataChannelBodies['PEER_QUERY']);
      case 'PEER_FOUND': return this.onFound(from, env.body as DataChannelBodies['PEER_FOUND']);
      case 'NETWORK_STATE': return this.onNetworkState(from, env.body as DataChannelBodies['NETWORK_STATE']);
    }
  }

  private onQuery(from: string, body: DataChannelBodies['PEER_QUERY']): void {
    if (!this.deps.isContact(from)) {
      this.refuse('UNAUTHORIZED', `PEER_QUERY from non-contact ${from.slice(0, 8)}`);
      return;
    }
    if (!this.queryRate.take(from, this.now())) {
      this.refuse('UNAUTHORIZED', `PEER_QUERY flood from ${from.slice(0, 8)}`);
      return;
    }
    const target = body.lookingFor;
    const n = this.neighbours.get(target);
    // Only about a direct peer, connected now, that lets itself be found and said where.
    if (target === from || !n || !n.discoverable || this.deps.mesh.state(target) !== 'CONNECTED') return;
    const addr = this.deps.preferAddr ? this.deps.preferAddr(n.signalAddrs) : n.signalAddrs[0] ?? null;
    if (!addr) return;
    if (this.sendEnvelope(from, 'PEER_FOUND', { userId: target, signalAddr: addr, canRelay: this.deps.canRelay?.() ?? false, requestId: body.requestId })) {
      this.counters.queriesAnswered++;
    }
  }

  private onFound(from: string, body: DataChannelBodies['PEER_FOUND']): void {
    const q = this.pending.get(body.requestId);
    if (!q || !q.asked.has(from) || body.userId !== q.target) {
      this.deps.rejects.count('UNAUTHORIZED', `unsolicited PEER_FOUND from ${from.slice(0, 8)}`, 'datachannel');
      return;
    }
    q.asked.delete(from);
    if (body.signalAddr === null || !q.accept(body.signalAddr, from)) return;
    this.counters.foundAccepted++;
    q.resolve({ signalAddr: body.signalAddr, via: from, canRelay: body.canRelay });
  }

  private onNetworkState(from: string, body: DataChannelBodies['NETWORK_STATE']): void {
    if (!this.deps.isContact(from) || this.deps.mesh.state(from) !== 'CONNECTED') {
      this.deps.rejects.count('UNAUTHORIZED', `NETWORK_STATE from ${from.slice(0, 8)}, not a connected contact`, 'datachannel');
      return;
    }
    this.counters.networkStatesReceived++;
    if (!this.neighbours.has(from) && this.neighbours.size >= MAX_NEIGHBOURS) {
      this.neighbours.delete(this.neighbours.keys().next().value as string);
    }
    this.neighbours.set(from, {
      peers: body.peers, signalAddrs: body.signalAddrs ?? [], discoverable: body.discoverable ?? true,
      canRelay: body.canRelay, storesFor: body.storesFor ?? [], at: this.now(),
    });
  }

  /** NETWORK_STATE to every direct peer: whom we are connected to and where we can be signaled. */
  sendNetworkState(): void {
    const connected = this.connected();
    const signalAddrs = this.deps.ownSignalAddrs().slice(0, MAX_NETWORK_STATE_ADDRS);
    for (const peer of connected) {
      const peers = connected.filter((p) => p !== peer).slice(0, MAX_NETWORK_STATE_PEERS);
      const storesFor = (this.deps.storesFor?.(peer) ?? []).slice(0, MAX_NETWORK_STATE_PEERS);
      const body = { peers, canRelay: this.deps.canRelay?.() ?? false, signalAddrs, discoverable: this.deps.discoverable(), ...(storesFor.length > 0 ? { storesFor } : {}) };
      if (this.sendEnvelope(peer, 'NETWORK_STATE', body)) this.counters.networkStatesSent++;
    }
  }

  private sendEnvelope<T extends 'PEER_QUERY' | 'PEER_FOUND' | 'NETWORK_STATE'>(peer: string, type: T, body: DataChannelBodies[T]): boolean {
    const env = signEnvelope({ type, to: peer, body }, this.deps.identity, this.deps.signer);
    return this.deps.mesh.send(peer, encodeEnvelope(env));
  }

  private refuse(code: 'UNAUTHORIZED', reason: string): void {
    this.counters.queriesRefused++;
    this.deps.rejects.count(code, reason, 'datachannel');
  }
}
