/**
 * PEER_QUERY, PEER_FOUND, PEER_NOT_FOUND and NETWORK_STATE over the data channels (seed 004 step
 * 3, DESIGN section 6). Direct peers tell each other, in NETWORK_STATE, whom they are connected to
 * and where they can be signaled; that table answers PEER_QUERY. A query is answered only to a
 * contact: PEER_FOUND about a direct peer that lets itself be found, PEER_NOT_FOUND at once
 * otherwise, so the asker's step ends as soon as everyone asked has answered instead of waiting
 * for its timeout. An answer counts only as the answer to a query we sent to that very peer.
 * Every table here is capped.
 */
import type { HostLookup, RouteHint } from '../../../shared/discovery';
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
  /** Asked and not answered yet. */
  asked: Set<string>;
  answers: number;
  accept: (addr: string, from: string) => boolean;
  /** Ends the query: the route found, or null when every asked peer answered without one. */
  settle: (hint: RouteHint | null) => void;
}

export interface PeerFinderStats {
  queriesSent: number;
  queriesAnswered: number;
  /** Queries from contacts answered PEER_NOT_FOUND. */
  queriesNotFound: number;
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
    queriesSent: 0, queriesAnswered: 0, queriesNotFound: 0, queriesRefused: 0, foundAccepted: 0, networkStatesSent: 0, networkStatesReceived: 0,
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
    for (const q of [...this.pending.values()]) q.settle(null);
    this.pending.clear();
  }

  /**
   * A channel opened or closed: the connection set changed, so tell the direct peers (debounced).
   * A peer that just opened hears at once where we can be signaled: until it does, it can only
   * answer PEER_NOT_FOUND about us.
   */
  connectionsChanged(change: { closed?: string; opened?: string } = {}): void {
    if (change.closed) this.neighbours.delete(change.closed);
    if (change.opened) this.sendNetworkState(change.opened);
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
   * the first PEER_FOUND naming an address `accept` takes from that peer, or without a route as
   * soon as every peer asked has answered (PEER_NOT_FOUND, or an address we can't use), or after
   * `timeoutMs`. `reason`, `asked` and `answers` say how it ended.
   */
  find(target: string, timeoutMs: number, accept: (addr: string, from: string) => boolean, among?: string[]): Promise<HostLookup> {
    const candidates = (among ?? this.connected()).filter((p) => p !== target && this.deps.mesh.state(p) === 'CONNECTED');
    if (candidates.length === 0) return Promise.resolve({ route: null, reason: 'no-peers', asked: 0, answers: 0 });
    if (this.pending.size >= MAX_PENDING_QUERIES) return Promise.resolve({ route: null, reason: 'busy', asked: 0, answers: 0 });
    const requestId = randomId();
    return new Promise((resolve) => {
      const q: PendingQuery = {
        target, asked: new Set(), answers: 0, accept,
        settle: (hint) => finish(hint ? { route: hint, reason: 'found' } : { route: null, reason: 'not-found' }),
      };
      let sent = 0;
      const finish = (r: Pick<HostLookup, 'route' | 'reason'>): void => {
        clearTimeout(timer);
        if (this.pending.delete(requestId)) resolve({ ...r, asked: sent, answers: q.answers });
      };
      const timer = setTimeout(() => finish({ route: null, reason: 'timeout' }), timeoutMs);
      this.pending.set(requestId, q);
      for (const peer of candidates) {
        q.asked.add(peer);
        if (this.sendEnvelope(peer, 'PEER_QUERY', { lookingFor: target, requestId })) {
          this.counters.queriesSent++;
          sent++;
        } else q.asked.delete(peer);
      }
      if (sent === 0) finish({ route: null, reason: 'no-peers' });
      else if (q.asked.size === 0) q.settle(null);
    });
  }

  /** A validated PEER_QUERY, PEER_FOUND or NETWORK_STATE from `from` (signature already checked). */
  onEnvelope(from: string, env: Envelope): void {
    switch (env.type) {
      case 'PEER_QUERY': return this.onQuery(from, env.body as DataChannelBodies['PEER_QUERY']);
      case 'PEER_FOUND': return this.onFound(from, env.body as DataChannelBodies['PEER_FOUND']);
      case 'PEER_NOT_FOUND': return this.onNotFound(from, env.body as DataChannelBodies['PEER_NOT_FOUND']);
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
    const addr = this.answerFor(from, target);
    if (addr === null) {
      // Not a peer we can point to (unknown, not connected, not discoverable, no address): say so now.
      if (this.sendEnvelope(from, 'PEER_NOT_FOUND', { userId: target, requestId: body.requestId })) this.counters.queriesNotFound++;
      return;
    }
    if (this.sendEnvelope(from, 'PEER_FOUND', { userId: target, signalAddr: addr, canRelay: this.deps.canRelay?.() ?? false, requestId: body.requestId })) {
      this.counters.queriesAnswered++;
    }
  }

  /** Where `asker` may find `target`: only a direct peer, connected now, that lets itself be found and said where. */
  private answerFor(asker: string, target: string): string | null {
    const n = this.neighbours.get(target);
    if (target === asker || !n || !n.discoverable || this.deps.mesh.state(target) !== 'CONNECTED') return null;
    return this.deps.preferAddr ? this.deps.preferAddr(n.signalAddrs) : n.signalAddrs[0] ?? null;
  }

  private onFound(from: string, body: DataChannelBodies['PEER_FOUND']): void {
    const q = this.pending.get(body.requestId);
    if (!q || !q.asked.has(from) || body.userId !== q.target) {
      this.deps.rejects.count('UNAUTHORIZED', `unsolicited PEER_FOUND from ${from.slice(0, 8)}`, 'datachannel');
      return;
    }
    q.asked.delete(from);
    q.answers++;
    if (body.signalAddr === null || !q.accept(body.signalAddr, from)) {
      if (q.asked.size === 0) q.settle(null);
      return;
    }
    this.counters.foundAccepted++;
    q.settle({ signalAddr: body.signalAddr, via: from, canRelay: body.canRelay });
  }

  private onNotFound(from: string, body: DataChannelBodies['PEER_NOT_FOUND']): void {
    const q = this.pending.get(body.requestId);
    if (!q || !q.asked.has(from) || body.userId !== q.target) {
      this.deps.rejects.count('UNAUTHORIZED', `unsolicited PEER_NOT_FOUND from ${from.slice(0, 8)}`, 'datachannel');
      return;
    }
    q.asked.delete(from);
    q.answers++;
    if (q.asked.size === 0) q.settle(null);
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
  /** Sends NETWORK_STATE to every direct peer, or only to `only`. */
  sendNetworkState(only?: string): void {
    const connected = this.connected();
    const signalAddrs = this.deps.ownSignalAddrs().slice(0, MAX_NETWORK_STATE_ADDRS);
    for (const peer of only === undefined ? connected : connected.filter((p) => p === only)) {
      const peers = connected.filter((p) => p !== peer).slice(0, MAX_NETWORK_STATE_PEERS);
      const storesFor = (this.deps.storesFor?.(peer) ?? []).slice(0, MAX_NETWORK_STATE_PEERS);
      const body = { peers, canRelay: this.deps.canRelay?.() ?? false, signalAddrs, discoverable: this.deps.discoverable(), ...(storesFor.length > 0 ? { storesFor } : {}) };
      if (this.sendEnvelope(peer, 'NETWORK_STATE', body)) this.counters.networkStatesSent++;
    }
  }

  private sendEnvelope<T extends 'PEER_QUERY' | 'PEER_FOUND' | 'PEER_NOT_FOUND' | 'NETWORK_STATE'>(peer: string, type: T, body: DataChannelBodies[T]): boolean {
    const env = signEnvelope({ type, to: peer, body }, this.deps.identity, this.deps.signer);
    return this.deps.mesh.send(peer, encodeEnvelope(env));
  }

  private refuse(code: 'UNAUTHORIZED', reason: string): void {
    this.counters.queriesRefused++;
    this.deps.rejects.count(code, reason, 'datachannel');
  }
}
