/**
 * An end's side of peer relay: when the direct connection to a contact keeps failing and a
 * connected contact advertises `canRelay` with that contact among its peers (NETWORK_STATE), ask
 * it to carry our frames (RELAY_REQUEST); answer its forwarded requests for contacts who want to
 * reach us; seal what we send through it and open what it brings.
 *
 * A relayed frame is sealTo(target, envelopes signed by their author), so the relay forwards
 * bytes it can't read; a frame it alters or makes up does not open (DECRYPT_FAILED), and one it
 * plays back again is refused here by id and timestamp (REPLAY), before delivery sees it. Both
 * are counted under `relay:`.
 */
import { openFrom, sealTo } from '../../../shared/box';
import type { Signer } from '../../../shared/crypto';
import { fromUtf8, utf8 } from '../../../shared/encoding';
import { encodeEnvelope, signEnvelope } from '../../../shared/envelope';
import type { RejectCounter } from '../../../shared/errors';
import type { Identity } from '../../../shared/identity';
import { randomId } from '../../../shared/ids';
import { ReplayGuard } from '../../../shared/replay';
import { MAX_RELAYED_FRAME_CHARS, type DataChannelBodies } from '../../../shared/schemas/datachannel';
import { TypedEmitter } from '../../../shared/typed-emitter';
import type { Neighbour } from '../discovery/peer-finder';
import { ENVELOPE_SEPARATOR } from '../frame-batcher';
import type { MeshLike } from '../transport';

/** Plaintext per sealed RELAY frame: its base64 (nonce and MAC included) stays under MAX_RELAYED_FRAME_CHARS. */
export const MAX_RELAY_PLAIN_BYTES = Math.floor(MAX_RELAYED_FRAME_CHARS / 4) * 3 - 64;
const REQUEST_TIMEOUT_MS = 20_000;
/** A peer we could not get a relay for is asked about again after this long. */
const REASK_MS = 5_000;
const TICK_MS = 1_000;
const MAX_WANTED = 256;
/** Fraction of the relay's advertised cap we send at, so its bucket never has to drop our frames. */
const PACE_FRACTION = 0.9;

export interface RelayPath { via: string; since: number }

export type RelayClientEvents = {
  up: { peer: string; via: string };
  down: { peer: string; via: string; reason: string };
};

export interface RelayClientDeps {
  identity: Identity;
  signer: Signer;
  mesh: MeshLike;
  rejects: RejectCounter;
  isContact: (userId: string) => boolean;
  neighbour: (userId: string) => Neighbour | undefined;
  connected: () => string[];
  /** Hands the opened envelopes of `source` to delivery, as if they came on its channel. */
  deliver: (source: string, frame: string) => void;
  now?: () => number;
}

interface Pending { peer: string; via: string; timer: ReturnType<typeof setTimeout> }

interface Pacer { rate: number; level: number; at: number }

export interface RelayClientStats { requested: number; accepted: number; refused: number; framesSent: number; framesReceived: number }

export class RelayClient {
  private readonly now: () => number;
  private readonly paths = new Map<string, RelayPath>();
  private readonly pacers = new Map<string, Pacer>();
  private readonly pending = new Map<string, Pending>();
  /** Contacts we can't reach directly now, and when we last asked a relay for each. */
  private readonly wanted = new Map<string, number>();
  private readonly replay = new ReplayGuard({ windowMs: 10 * 60_000, maxEntries: 200_000 });
  private readonly events = new TypedEmitter<RelayClientEvents>();
  private tickTimer: ReturnType<typeof setInterval> | undefined;
  readonly counters: RelayClientStats = { requested: 0, accepted: 0, refused: 0, framesSent: 0, framesReceived: 0 };

  constructor(private readonly deps: RelayClientDeps) {
    this.now = deps.now ?? Date.now;
  }

  on<E extends keyof RelayClientEvents>(event: E, listener: (payload: RelayClientEvents[E]) => void): () => void {
    return this.events.on(event, listener);
  }

  start(): void {
    this.tickTimer = setInterval(() => this.tick(), TICK_MS);
    this.tickTimer.unref?.();
  }

  stop(): void {
    clearInterval(this.tickTimer);
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }

  path(peer: string): RelayPath | undefined {
    return this.paths.get(peer);
  }

  isRelayed(peer: string): boolean {
    const p = this.paths.get(peer);
    return p !== undefined && this.deps.mesh.state(p.via) === 'CONNECTED';
  }

  /** The direct path to `peer` is failing: look for a relay now and while it stays so. */
  want(peer: string): void {
    if (this.paths.has(peer) || !this.deps.isContact(peer)) return;
    if (!this.wanted.has(peer)) {
      if (this.wanted.size >= MAX_WANTED) this.wanted.delete(this.wanted.keys().next().value as string);
      this.wanted.set(peer, 0);
    }
    this.tryRelay(peer);
  }

  /** A direct channel opened (it takes over from any relay), or the contact is gone. */
  direct(peer: string): void {
    this.wanted.delete(peer);
    if (this.paths.delete(peer)) this.pacers.delete(peer);
  }

  /** A channel closed: pairs carried by that peer are gone. */
  channelClosed(userId: string): void {
    for (const [peer, p] of [...this.paths]) if (p.via === userId) this.lose(peer, 'the relay went away');
    for (const [id, p] of [...this.pending]) {
      if (p.via !== userId) continue;
      clearTimeout(p.timer);
      this.pending.delete(id);
    }
  }

  /** Relay → us: `source` wants to reach us through it. */
  onForwardedRequest(from: string, body: DataChannelBodies['RELAY_REQUEST']): void {
    const source = body.source;
    if (source === undefined || body.target !== this.deps.identity.userId) return;
    const answer = (accept: boolean, reason?: string): void => {
      this.sendEnvelope(from, 'RELAY_RESPONSE', { target: body.target, source, requestId: body.requestId, accept, ...(reason ? { reason } : {}) });
    };
    if (!this.deps.isContact(from)) {
      this.counters.refused++;
      this.deps.rejects.count('UNAUTHORIZED', `relay offer from non-contact ${from.slice(0, 8)}`, 'relay');
      return answer(false, 'not a contact');
    }
    if (!this.deps.isContact(source) || source === from) {
      this.counters.refused++;
      this.deps.rejects.count('UNAUTHORIZED', `relay request from non-contact ${source.slice(0, 8)} via ${from.slice(0, 8)}`, 'relay');
      return answer(false, 'not a contact');
    }
    if (this.deps.mesh.state(source) === 'CONNECTED') return answer(false, 'already connected directly');
    answer(true);
    this.up(source, from);
  }

  /** The relay's answer to our request, or its notice that an open pair ended. */
  onResponse(from: string, body: DataChannelBodies['RELAY_RESPONSE']): void {
    const pending = this.pending.get(body.requestId);
    if (pending && pending.via === from && pending.peer === body.target) {
      clearTimeout(pending.timer);
      this.pending.delete(body.requestId);
      if (body.accept) {
        this.up(body.target, from, body.maxBytesPerSec);
        return;
      }
      this.counters.refused++;
      return;
    }
    const path = this.paths.get(body.target);
    if (path?.via === from) {
      if (body.accept) this.setPace(body.target, body.maxBytesPerSec);
      else this.lose(body.target, body.reason ?? 'the relay ended the pair');
      return;
    }
    // A late accept for a pair we already have through this relay, or one we stopped waiting for.
    if (body.accept && this.deps.isContact(body.target) && !this.paths.has(body.target) && this.deps.mesh.state(body.target) !== 'CONNECTED' && this.wanted.has(body.target)) {
      this.up(body.target, from, body.maxBytesPerSec);
      return;
    }
    if (!body.accept) return;
    this.deps.rejects.count('UNAUTHORIZED', `relay answer from ${from.slice(0, 8)} to no request of ours`, 'relay');
  }

  /** Relay → us: a sealed frame of `source`. */
  onRelay(from: string, body: DataChannelBodies['RELAY']): void {
    const source = body.source;
    if (source === undefined || body.target !== this.deps.identity.userId) return;
    if (!this.deps.isContact(from) || !this.deps.isContact(source) || source === from) {
      this.deps.rejects.count('UNAUTHORIZED', `relayed frame of ${source.slice(0, 8)} via ${from.slice(0, 8)}: not both contacts`, 'relay');
      return;
    }
    const plain = openFrom(source, body.frame, this.deps.identity);
    if (!plain) {
      this.deps.rejects.count('DECRYPT_FAILED', `relayed frame via ${from.slice(0, 8)} does not open as sealed by ${source.slice(0, 8)}`, 'relay');
      return;
    }
    let text: string;
    try {
      text = fromUtf8(plain);
    } catch {
      this.deps.rejects.count('BAD_JSON', 'relayed frame is not UTF-8', 'relay');
      return;
    }
    const fresh: string[] = [];
    for (const part of text.split(ENVELOPE_SEPARATOR)) {
      const key = replayKey(part);
      // The box key of a pair works both ways: a frame the source sealed for someone else, or one
      // we sealed for the source, would open too. Only envelopes from the source to us count.
      if (key && (key.from !== source || key.to !== this.deps.identity.userId)) {
        this.deps.rejects.count('WRONG_RECIPIENT', `relayed envelope via ${from.slice(0, 8)} is not from ${source.slice(0, 8)} to us`, 'relay');
        continue;
      }
      // Sealed by the source, so the relay can't have made it up; the same id and ts twice is a playback.
      if (key && this.replay.seen(key.id, key.ts)) {
        this.deps.rejects.count('REPLAY', `relayed envelope ${key.id.slice(0, 12)} via ${from.slice(0, 8)} played back`, 'relay');
        continue;
      }
      fresh.push(part);
    }
    if (fresh.length === 0) return;
    this.counters.framesReceived++;
    this.deps.deliver(source, fresh.join(ENVELOPE_SEPARATOR));
  }

  /** Seals a frame of envelopes for `peer` and sends it through its relay; false if there is none or it refused. */
  send(peer: string, frame: string): boolean {
    const path = this.paths.get(peer);
    if (!path || this.deps.mesh.state(path.via) !== 'CONNECTED') return false;
    for (const chunk of packChunks(frame)) {
      if (chunk === null) return false;
      const sealed = sealTo(peer, utf8(chunk), this.deps.identity);
      if (!this.sendEnvelope(path.via, 'RELAY', { target: peer, frame: sealed })) return false;
      this.pace(peer, sealed.length);
      this.counters.framesSent++;
    }
    return true;
  }

  /** What delivery's flow control sees: the relay channel's queue plus our own pacing debt. */
  bufferedAmount(peer: string): number {
    const path = this.paths.get(peer);
    if (!path) return 0;
    return this.deps.mesh.bufferedAmount(path.via) + this.paceLevel(peer);
  }

  private tick(): void {
    for (const peer of this.wanted.keys()) this.tryRelay(peer);
  }

  private tryRelay(peer: string): void {
    if (this.paths.has(peer) || this.deps.mesh.state(peer) === 'CONNECTED') {
      this.wanted.delete(peer);
      return;
    }
    const last = this.wanted.get(peer) ?? 0;
    if (this.now() - last < REASK_MS || [...this.pending.values()].some((p) => p.peer === peer)) return;
    const candidates = this.deps.connected().filter((u) => {
      if (u === peer || !this.deps.isContact(u)) return false;
      const n = this.deps.neighbour(u);
      return n !== undefined && n.canRelay && n.peers.includes(peer);
    });
    const via = candidates[0];
    if (!via) return;
    this.wanted.set(peer, this.now());
    const requestId = randomId();
    const timer = setTimeout(() => this.pending.delete(requestId), REQUEST_TIMEOUT_MS);
    timer.unref?.();
    this.pending.set(requestId, { peer, via, timer });
    this.counters.requested++;
    this.sendEnvelope(via, 'RELAY_REQUEST', { target: peer, requestId });
  }

  private up(peer: string, via: string, maxBytesPerSec?: number): void {
    const had = this.paths.get(peer);
    if (had?.via === via) {
      this.setPace(peer, maxBytesPerSec);
      return;
    }
    this.paths.set(peer, { via, since: this.now() });
    this.setPace(peer, maxBytesPerSec);
    this.wanted.delete(peer);
    this.counters.accepted++;
    this.events.emit('up', { peer, via });
  }

  private lose(peer: string, reason: string): void {
    const path = this.paths.get(peer);
    if (!path) return;
    this.paths.delete(peer);
    this.pacers.delete(peer);
    this.events.emit('down', { peer, via: path.via, reason });
    if (this.deps.mesh.state(peer) !== 'CONNECTED') this.want(peer);
  }

  private setPace(peer: string, maxBytesPerSec: number | undefined): void {
    if (maxBytesPerSec === undefined) {
      if (!this.pacers.has(peer)) this.pacers.set(peer, { rate: Infinity, level: 0, at: this.now() });
      return;
    }
    const p = this.pacers.get(peer);
    const rate = maxBytesPerSec * PACE_FRACTION;
    if (p) p.rate = rate;
    else this.pacers.set(peer, { rate, level: 0, at: this.now() });
  }

  private paceLevel(peer: string): number {
    const p = this.pacers.get(peer);
    if (!p || p.rate === Infinity) return 0;
    const now = this.now();
    p.level = Math.max(0, p.level - ((now - p.at) / 1000) * p.rate);
    p.at = now;
    return p.level;
  }

  private pace(peer: string, bytes: number): void {
    const p = this.pacers.get(peer);
    if (!p || p.rate === Infinity) return;
    this.paceLevel(peer);
    p.level += bytes;
  }

  private sendEnvelope<T extends 'RELAY_REQUEST' | 'RELAY_RESPONSE' | 'RELAY'>(to: string, type: T, body: DataChannelBodies[T]): boolean {
    const env = signEnvelope({ type, to, body }, this.deps.identity, this.deps.signer);
    return this.deps.mesh.send(to, encodeEnvelope(env));
  }
}

/**
 * Splits a newline-separated batch of envelopes into chunks whose UTF-8 fits one sealed RELAY
 * frame; null stands for an envelope too large to relay at all (it stays in the outbox).
 */
export function packChunks(frame: string): (string | null)[] {
  const out: (string | null)[] = [];
  let parts: string[] = [];
  let bytes = 0;
  for (const part of frame.split(ENVELOPE_SEPARATOR)) {
    const n = Buffer.byteLength(part) + 1;
    if (n > MAX_RELAY_PLAIN_BYTES) {
      if (parts.length) out.push(parts.join(ENVELOPE_SEPARATOR));
      out.push(null);
      return out;
    }
    if (bytes + n > MAX_RELAY_PLAIN_BYTES && parts.length) {
      out.push(parts.join(ENVELOPE_SEPARATOR));
      parts = [];
      bytes = 0;
    }
    parts.push(part);
    bytes += n;
  }
  if (parts.length) out.push(parts.join(ENVELOPE_SEPARATOR));
  return out;
}

/** id, ts and addresses of an encoded envelope, read without verifying (delivery verifies it next). */
function replayKey(part: string): { id: string; ts: number; from: unknown; to: unknown } | null {
  try {
    const v = JSON.parse(part) as { id?: unknown; ts?: unknown; from?: unknown; to?: unknown };
    if (typeof v.id !== 'string' || typeof v.ts !== 'number' || v.id.length > 64) return null;
    return { id: `${v.id}:${v.ts}`, ts: v.ts, from: v.from, to: v.to };
  } catch {
    return null;
  }
}
