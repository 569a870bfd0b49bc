/**
 * The relay's side of peer relay (seed 004 `canRelay`, DESIGN section 6): when two of this
 * user's contacts can't connect to each other but both have a channel to us, we carry their
 * frames. Only while the "relay for my contacts" setting is on, only between two accepted
 * contacts, and only after the target agreed (the request is forwarded to it and it answers
 * for itself).
 *
 * What we forward is sealed to the target and signed inside by its author, so we can neither read
 * nor forge it; we only see who talks to whom and how much. Nothing is queued here: a frame is
 * forwarded at once or dropped (counted), so memory is bounded by the tables below, each capped,
 * whatever the ends send. The ends' outboxes retransmit what a drop cost.
 */
import type { Signer } from '../../../shared/crypto';
import { encodeEnvelope, signEnvelope } from '../../../shared/envelope';
import type { RejectCode, RejectCounter } from '../../../shared/errors';
import type { Identity } from '../../../shared/identity';
import { randomId } from '../../../shared/ids';
import type { DataChannelBodies } from '../../../shared/schemas/datachannel';
import { TokenBucket } from '../../../shared/rate-limit/token-bucket';
import type { MeshLike } from '../transport';

export interface RelayLimits {
  /** Pairs carried at once (open or waiting for the target's answer). */
  maxPairs: number;
  /** Pairs one contact may be an end of. */
  maxPairsPerPeer: number;
  /** Forwarded bytes per pair (both directions together). */
  pairBytesPerSec: number;
  pairBurstBytes: number;
  /** Forwarded bytes across all pairs. */
  totalBytesPerSec: number;
  totalBurstBytes: number;
  /** A frame is dropped instead of queued while the target's channel holds more than this. */
  maxBufferedBytes: number;
  /** How long the target has to answer a forwarded request. */
  answerTimeoutMs: number;
  /** An open pair nobody used for this long is closed (its ends are told). */
  idleMs: number;
}

export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  maxPairs: 32,
  maxPairsPerPeer: 8,
  pairBytesPerSec: 8 * 1024 * 1024,
  pairBurstBytes: 16 * 1024 * 1024,
  totalBytesPerSec: 16 * 1024 * 1024,
  totalBurstBytes: 32 * 1024 * 1024,
  maxBufferedBytes: 4 * 1024 * 1024,
  answerTimeoutMs: 15_000,
  idleMs: 10 * 60_000,
};

/** Requests from one asker that wait for the same pair: a small, bounded list. */
const MAX_WAITERS = 4;
const SWEEP_MS = 5_000;

export interface RelayServerDeps {
  identity: Identity;
  signer: Signer;
  /** The direct mesh (never the routed one: a relay does not relay over a relay). */
  mesh: MeshLike;
  rejects: RejectCounter;
  isContact: (userId: string) => boolean;
  /** The "relay for my contacts" setting, read each time. */
  enabled: () => boolean;
  limits?: Partial<RelayLimits>;
  now?: () => number;
  /** One line per forwarded frame and per pair change (PARLEY_DEBUG): sizes and ids only. */
  log?: (line: string) => void;
}

interface Waiter { peer: string; requestId: string }

interface Pair {
  key: string;
  a: string;
  b: string;
  open: boolean;
  /** The id of the request forwarded to the target (also names the pair in teardowns). */
  forwardedId: string;
  /** Who asked first; the forwarded request went to the other end. */
  asker: string;
  waiters: Waiter[];
  bucket: TokenBucket;
  createdAt: number;
  lastActive: number;
}

export interface RelayServerStats {
  pairsOpened: number;
  pairsClosed: number;
  framesForwarded: number;
  bytesForwarded: number;
  framesDropped: number;
  requestsRefused: number;
}

export class RelayServer {
  private readonly limits: RelayLimits;
  private readonly now: () => number;
  private readonly pairs = new Map<string, Pair>();
  private readonly total: TokenBucket;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;
  readonly counters: RelayServerStats = { pairsOpened: 0, pairsClosed: 0, framesForwarded: 0, bytesForwarded: 0, framesDropped: 0, requestsRefused: 0 };

  constructor(private readonly deps: RelayServerDeps) {
    this.limits = { ...DEFAULT_RELAY_LIMITS, ...deps.limits };
    this.now = deps.now ?? Date.now;
    this.total = new TokenBucket({ burst: this.limits.totalBurstBytes, perSecond: this.limits.totalBytesPerSec }, this.now());
  }

  start(): void {
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweepTimer.unref?.();
  }

  stop(): void {
    clearInterval(this.sweepTimer);
    this.pairs.clear();
  }

  get pairCount(): number {
    return this.pairs.size;
  }

  /** Pairs carried now, for the network panel and tests. */
  listPairs(): { a: string; b: string; open: boolean }[] {
    return [...this.pairs.values()].map((p) => ({ a: p.a, b: p.b, open: p.open }));
  }

  /** RELAY_REQUEST from `from` asking us to carry its frames to `body.target`. */
  onRequest(from: string, body: DataChannelBodies['RELAY_REQUEST']): void {
    const target = body.target;
    const refuse = (code: RejectCode, why: string, words: string): void => {
      this.counters.requestsRefused++;
      this.deps.rejects.count(code, `relay request from ${from.slice(0, 8)} for ${target.slice(0, 8)}: ${why}`, 'relay');
      this.send(from, 'RELAY_RESPONSE', { target, requestId: body.requestId, accept: false, reason: words });
    };
    if (body.source !== undefined) {
      // Only a relay forwards a request with a source; we are asked as the relay here.
      this.deps.rejects.count('SCHEMA', `relay request from ${from.slice(0, 8)} names a source`, 'relay');
      return;
    }
    if (!this.deps.isContact(from)) return refuse('UNAUTHORIZED', 'asker is not a contact', 'not a contact of the relay');
    if (!this.deps.enabled()) return refuse('UNAUTHORIZED', 'relaying is off', 'relaying is off on this device');
    if (target === from || target === this.deps.identity.userId) return refuse('SCHEMA', 'target is the asker or the relay', 'bad target');
    if (!this.deps.isContact(target)) return refuse('UNAUTHORIZED', 'target is not a contact', 'the target is not a contact of the relay');
    if (this.deps.mesh.state(target) !== 'CONNECTED') return refuse('UNAUTHORIZED', 'target not connected', 'the relay has no connection to the target');

    const key = pairKey(from, target);
    const existing = this.pairs.get(key);
    if (existing) {
      if (existing.open) {
        existing.lastActive = this.now();
        this.accept(from, target, body.requestId);
        return;
      }
      if (existing.waiters.length >= MAX_WAITERS) return refuse('FULL', 'too many waiting requests', 'already waiting');
      existing.waiters.push({ peer: from, requestId: body.requestId });
      return;
    }
    if (this.pairs.size >= this.limits.maxPairs) return refuse('FULL', `already ${this.pairs.size} pairs`, 'the relay carries as many pairs as it allows');
    if (this.pairsOf(from) >= this.limits.maxPairsPerPeer || this.pairsOf(target) >= this.limits.maxPairsPerPeer) {
      return refuse('FULL', 'per-peer pair cap', 'the relay carries as many pairs for this contact as it allows');
    }
    const now = this.now();
    const pair: Pair = {
      key, a: from, b: target, open: false, forwardedId: randomId(), asker: from, waiters: [{ peer: from, requestId: body.requestId }],
      bucket: new TokenBucket({ burst: this.limits.pairBurstBytes, perSecond: this.limits.pairBytesPerSec }, now), createdAt: now, lastActive: now,
    };
    this.pairs.set(key, pair);
    this.send(target, 'RELAY_REQUEST', { target, source: from, requestId: pair.forwardedId });
    this.log(`pair ${from.slice(0, 8)}<->${target.slice(0, 8)} asked`);
  }

  /** RELAY_RESPONSE from the target of a request we forwarded. True if it was one (else it is the client's). */
  onResponse(from: string, body: DataChannelBodies['RELAY_RESPONSE']): boolean {
    if (body.source === undefined) return false;
    const pair = this.pairs.get(pairKey(from, body.source));
    if (!pair || pair.open || pair.forwardedId !== body.requestId || from === pair.asker) {
      this.deps.rejects.count('UNAUTHORIZED', `relay answer from ${from.slice(0, 8)} to no request of ours`, 'relay');
      return true;
    }
    const waiters = pair.waiters;
    pair.waiters = [];
    if (!body.accept) {
      this.pairs.delete(pair.key);
      for (const w of waiters) this.send(w.peer, 'RELAY_RESPONSE', { target: from, requestId: w.requestId, accept: false, reason: body.reason ?? 'the target declined' });
      this.log(`pair ${pair.a.slice(0, 8)}<->${pair.b.slice(0, 8)} declined by the target`);
      return true;
    }
    pair.open = true;
    pair.lastActive = this.now();
    this.counters.pairsOpened++;
    for (const w of waiters) this.accept(w.peer, w.peer === pair.a ? pair.b : pair.a, w.requestId);
    this.log(`pair ${pair.a.slice(0, 8)}<->${pair.b.slice(0, 8)} open`);
    return true;
  }

  /** RELAY from `from` for `body.target`: forwarded unchanged, or dropped and counted. */
  onRelay(from: string, body: DataChannelBodies['RELAY']): void {
    const target = body.target;
    if (target === this.deps.identity.userId) return; // addressed to us as an end: the client's
    const pair = this.pairs.get(pairKey(from, target));
    if (!pair || !pair.open || body.source !== undefined) {
      this.drop('UNAUTHORIZED', `relay frame from ${from.slice(0, 8)} for ${target.slice(0, 8)} outside an open pair`);
      return;
    }
    if (!this.deps.enabled() || !this.deps.isContact(from) || !this.deps.isContact(target)) {
      this.drop('UNAUTHORIZED', 'relaying was turned off or an end is no longer a contact');
      this.close(pair, 'relaying stopped on this device');
      return;
    }
    if (this.deps.mesh.state(target) !== 'CONNECTED') {
      this.drop('UNAUTHORIZED', `target ${target.slice(0, 8)} not connected`);
      this.close(pair, 'the other end left the relay');
      return;
    }
    const bytes = body.frame.length;
    const now = this.now();
    if (!pair.bucket.take(now, bytes) || !this.total.take(now, bytes)) {
      this.drop('RATE_LIMITED', `pair ${from.slice(0, 8)}->${target.slice(0, 8)} over its bandwidth`);
      return;
    }
    if (this.deps.mesh.bufferedAmount(target) > this.limits.maxBufferedBytes) {
      this.drop('FULL', `channel to ${target.slice(0, 8)} is full`);
      return;
    }
    pair.lastActive = now;
    if (!this.send(target, 'RELAY', { target, source: from, frame: body.frame })) {
      this.drop('FULL', `channel to ${target.slice(0, 8)} refused the frame`);
      return;
    }
    this.counters.framesForwarded++;
    this.counters.bytesForwarded += bytes;
    this.log(`frame ${from.slice(0, 8)}->${target.slice(0, 8)} ${bytes} sealed chars`);
  }

  /** A contact's channel closed: every pair it was an end of ends, and the other ends are told. */
  onPeerGone(userId: string): void {
    for (const pair of [...this.pairs.values()]) if (pair.a === userId || pair.b === userId) this.close(pair, 'the other end left the relay', userId);
  }

  private close(pair: Pair, reason: string, gone?: string): void {
    if (!this.pairs.delete(pair.key)) return;
    this.counters.pairsClosed++;
    for (const end of [pair.a, pair.b]) {
      if (end === gone) continue;
      const other = end === pair.a ? pair.b : pair.a;
      for (const w of pair.waiters.filter((x) => x.peer === end)) this.send(end, 'RELAY_RESPONSE', { target: other, requestId: w.requestId, accept: false, reason });
      if (pair.open) this.send(end, 'RELAY_RESPONSE', { target: other, requestId: pair.forwardedId, accept: false, reason });
    }
    this.log(`pair ${pair.a.slice(0, 8)}<->${pair.b.slice(0, 8)} closed: ${reason}`);
  }

  private accept(to: string, other: string, requestId: string): void {
    this.send(to, 'RELAY_RESPONSE', { target: other, requestId, accept: true, maxBytesPerSec: this.limits.pairBytesPerSec });
  }

  private sweep(): void {
    const now = this.now();
    for (const pair of [...this.pairs.values()]) {
      if (!pair.open && now - pair.createdAt > this.limits.answerTimeoutMs) {
        this.pairs.delete(pair.key);
        for (const w of pair.waiters) this.send(w.peer, 'RELAY_RESPONSE', { target: w.peer === pair.a ? pair.b : pair.a, requestId: w.requestId, accept: false, reason: 'the target did not answer' });
      } else if (pair.open && now - pair.lastActive > this.limits.idleMs) this.close(pair, 'idle');
    }
  }

  private pairsOf(userId: string): number {
    let n = 0;
    for (const p of this.pairs.values()) if (p.a === userId || p.b === userId) n++;
    return n;
  }

  private drop(code: RejectCode, reason: string): void {
    this.counters.framesDropped++;
    this.deps.rejects.count(code, reason, 'relay');
  }

  private send<T extends 'RELAY_REQUEST' | 'RELAY_RESPONSE' | 'RELAY'>(to: string, type: T, body: DataChannelBodies[T]): boolean {
    const env = signEnvelope({ type, to, body }, this.deps.identity, this.deps.signer);
    return this.deps.mesh.send(to, encodeEnvelope(env));
  }

  private log(line: string): void {
    this.deps.log?.(`[relay] ${line}`);
  }
}

export function pairKey(x: string, y: string): string {
  return x < y ? `${x}:${y}` : `${y}:${x}`;
}
