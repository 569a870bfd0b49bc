/**
 * The coordinator's side of store-and-forward tier 1 (seed 004 STORE_MESSAGE, DESIGN section 7),
 * run by a peer that opted in: it holds sealed copies that its contacts deposit for its other
 * contacts, in its SQLite, and forwards them when the recipient's channel opens. A copy is deleted
 * only on the recipient's signed STORE_ACK, or when it expires (then it is never forwarded).
 *
 * Who may do what: the depositor must be a contact and the author named in the deposit (the
 * envelope's signature was checked by delivery); the recipient must be a contact too. Caps per
 * depositor and in total (count and bytes) and a largest sealed size bound what one contact, or
 * all of them, can make us store. Every refusal is counted (source `coordinator`) and told to the
 * depositor in a STORE_RECEIPT, so its copy moves on to the next tier instead of waiting.
 */
import type { Signer } from '../../../shared/crypto';
import { encodeEnvelope, signEnvelope } from '../../../shared/envelope';
import type { RejectCode, RejectCounter } from '../../../shared/errors';
import type { Identity } from '../../../shared/identity';
import { MAX_ACK_BATCH, type DataChannelBodies } from '../../../shared/schemas/datachannel';
import type { HeldMessageStore } from '../../store/held';
import { FrameBatcher } from '../frame-batcher';
import type { MeshLike } from '../transport';

export interface HolderLimits {
  perDepositor: { count: number; bytes: number };
  total: { count: number; bytes: number };
  /** Largest sealed copy accepted (base64 characters). */
  maxSealedChars: number;
  /** Longest a copy is kept, whatever the depositor asks for. */
  maxHoldMs: number;
}

export const DEFAULT_HOLDER_LIMITS: HolderLimits = {
  perDepositor: { count: 500, bytes: 4 * 1024 * 1024 },
  total: { count: 10_000, bytes: 64 * 1024 * 1024 },
  maxSealedChars: 32 * 1024,
  maxHoldMs: 7 * 24 * 3600_000,
};

/** Expired copies are deleted at least this often (more often when copies are kept only briefly). */
const PURGE_EVERY_MS = 60_000;
/** Copies still held for a connected recipient are offered again this often (a lost frame, a crash before its ACK). */
const REFORWARD_EVERY_MS = 30_000;
const FORWARD_BATCH = 100;
/** Recently deleted copies, so a repeated ACK of one (it was forwarded twice) is not counted as a refusal. */
const RECENTLY_DROPPED = 4096;
const HIGH_WATER_BYTES = 1 << 20;
const FLOW_POLL_MS = 5;

export interface HolderStats {
  held: number;
  heldBytes: number;
  accepted: number;
  refused: number;
  forwarded: number;
  dropped: number;
  purged: number;
}

export interface HolderDeps {
  store: HeldMessageStore;
  identity: Identity;
  signer: Signer;
  mesh: Pick<MeshLike, 'send' | 'state' | 'bufferedAmount' | 'peers'>;
  rejects: RejectCounter;
  isContact: (userId: string) => boolean;
  /** The opt-in setting, read each time (it can be switched off while running). */
  enabled: () => boolean;
  limits?: Partial<HolderLimits>;
  now?: () => number;
}

type Receipt = { held: string[]; refused: { msgId: string; code: string }[] };

export class CoordinatorHolder {
  private readonly now: () => number;
  private readonly limits: HolderLimits;
  private readonly frames: FrameBatcher;
  private readonly forwarding = new Set<string>();
  private readonly forwardAgain = new Set<string>();
  /** Per recipient: when copies were last sent or ACKed, so the re-forward waits while ACKs still flow. */
  private readonly lastActivity = new Map<string, number>();
  private readonly recentlyDropped = new Set<string>();
  /** Receipts of one event-loop turn, per depositor and recipient: one STORE_RECEIPT each. */
  private readonly receipts = new Map<string, Receipt>();
  private receiptsScheduled = false;
  private purgeTimer: ReturnType<typeof setInterval> | undefined;
  private reforwardTimer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private readonly counters = { accepted: 0, refused: 0, forwarded: 0, dropped: 0, purged: 0 };

  constructor(private readonly deps: HolderDeps) {
    this.now = deps.now ?? Date.now;
    this.limits = { ...DEFAULT_HOLDER_LIMITS, ...deps.limits };
    this.frames = new FrameBatcher((peer, frame) => deps.mesh.send(peer, frame));
  }

  start(): void {
    this.purge();
    this.purgeTimer = setInterval(() => this.purge(), Math.max(1_000, Math.min(PURGE_EVERY_MS, this.limits.maxHoldMs / 2)));
    this.purgeTimer.unref?.();
    this.reforwardTimer = setInterval(() => {
      const quietSince = this.now() - REFORWARD_EVERY_MS;
      for (const r of this.deps.store.heldRecipients()) {
        if (this.deps.mesh.state(r) === 'CONNECTED' && (this.lastActivity.get(r) ?? 0) <= quietSince) void this.forward(r);
      }
    }, REFORWARD_EVERY_MS);
    this.reforwardTimer.unref?.();
  }

  stop(): void {
    this.closed = true;
    clearInterval(this.purgeTimer);
    clearInterval(this.reforwardTimer);
    this.flushReceipts();
    this.frames.flush();
  }

  /** Whom we hold for: every accepted contact but `peer` itself (sent in NETWORK_STATE storesFor). */
  storesFor(contacts: string[], peer: string): string[] {
    return this.deps.enabled() ? contacts.filter((c) => c !== peer) : [];
  }

  stats(): HolderStats {
    const usage = this.deps.store.heldUsage();
    return { held: usage.count, heldBytes: usage.bytes, ...this.counters };
  }

  /** A deposit: a verified STORE_MESSAGE from `from` whose recipient is someone else. */
  onDeposit(from: string, body: DataChannelBodies['STORE_MESSAGE']): void {
    const refusal = this.check(from, body);
    if (refusal) {
      this.counters.refused++;
      this.deps.rejects.count(refusal.code, refusal.reason, 'coordinator');
      this.receipt(from, body.recipient).refused.push({ msgId: body.msgId, code: refusal.code });
      return;
    }
    const now = this.now();
    const outcome = this.deps.store.holdMessage({
      msgId: body.msgId, depositor: from, recipient: body.recipient, sealed: body.sealed, bytes: body.sealed.length,
      expiresAt: Math.min(body.expiresAt, now + this.limits.maxHoldMs), receivedAt: now,
    });
    if (outcome === 'conflict') {
      this.counters.refused++;
      this.deps.rejects.count('DUPLICATE', `deposit ${body.msgId} from ${from.slice(0, 8)}: another depositor's copy has that id`, 'coordinator');
      this.receipt(from, body.recipient).refused.push({ msgId: body.msgId, code: 'DUPLICATE' });
      return;
    }
    if (outcome === 'held') this.counters.accepted++;
    // Held (or already held from this depositor): the receipt goes out only after the commit above.
    this.receipt(from, body.recipient).held.push(body.msgId);
    if (this.deps.mesh.state(body.recipient) === 'CONNECTED') void this.forward(body.recipient);
  }

  private check(from: string, body: DataChannelBodies['STORE_MESSAGE']): { code: RejectCode; reason: string } | null {
    const who = from.slice(0, 8);
    if (!this.deps.enabled()) return { code: 'UNAUTHORIZED', reason: `deposit from ${who}: this device does not hold messages for others` };
    if (!this.deps.isContact(from)) return { code: 'UNAUTHORIZED', reason: `deposit from non-contact ${who}` };
    if (body.sender !== from) return { code: 'BAD_SIGNATURE', reason: `deposit signed by ${who} names ${body.sender.slice(0, 8)} as its author` };
    if (body.recipient === from || body.recipient === this.deps.identity.userId) {
      return { code: 'UNAUTHORIZED', reason: `deposit from ${who} for ${body.recipient === from ? 'its own author' : 'the coordinator itself'}` };
    }
    if (!this.deps.isContact(body.recipient)) return { code: 'UNAUTHORIZED', reason: `deposit from ${who} for ${body.recipient.slice(0, 8)}, not a contact of this coordinator` };
    if (body.sealed.length > this.limits.maxSealedChars) {
      return { code: 'OVERSIZE', reason: `deposit from ${who} is ${body.sealed.length} characters sealed, limit ${this.limits.maxSealedChars}` };
    }
    if (body.expiresAt <= this.now()) return { code: 'STALE', reason: `deposit from ${who} expired before it arrived` };
    const mine = this.deps.store.heldUsage(from);
    const { perDepositor: per, total: cap } = this.limits;
    if (mine.count + 1 > per.count || mine.bytes + body.sealed.length > per.bytes) {
      return { code: 'FULL', reason: `deposit from ${who}: it already has ${mine.count} copies (${mine.bytes} B) held here, cap ${per.count} / ${per.bytes} B` };
    }
    const all = this.deps.store.heldUsage();
    if (all.count + 1 > cap.count || all.bytes + body.sealed.length > cap.bytes) {
      return { code: 'FULL', reason: `deposit from ${who}: this coordinator holds ${all.count} copies (${all.bytes} B), cap ${cap.count} / ${cap.bytes} B` };
    }
    return null;
  }

  /** The recipient stored these (or refused them for good): its copies are deleted, nobody else's. */
  onStoreAck(from: string, body: DataChannelBodies['STORE_ACK']): void {
    const n = this.deps.store.dropHeld(from, body.msgIds);
    this.counters.dropped += n;
    this.touch(from);
    const repeat = body.msgIds.every((id) => this.recentlyDropped.has(`${from}\n${id}`));
    for (const id of body.msgIds) {
      this.recentlyDropped.add(`${from}\n${id}`);
      if (this.recentlyDropped.size > RECENTLY_DROPPED) this.recentlyDropped.delete(this.recentlyDropped.values().next().value as string);
    }
    // Nothing of it held for the acker and no repeat: someone else's ids.
    if (n === 0 && !repeat) this.deps.rejects.count('UNAUTHORIZED', `STORE_ACK from ${from.slice(0, 8)} names no copy held for it`, 'coordinator');
  }

  /** The recipient's channel opened: everything held for it goes out, in deposit order. */
  onChannelOpen(peer: string): void {
    void this.forward(peer);
  }

  private async forward(recipient: string): Promise<void> {
    if (this.closed) return;
    if (this.forwarding.has(recipient)) {
      this.forwardAgain.add(recipient);
      return;
    }
    this.forwarding.add(recipient);
    try {
      do {
        this.forwardAgain.delete(recipient);
        let after = 0;
        for (;;) {
          const batch = this.deps.store.heldFor(recipient, this.now(), FORWARD_BATCH, after);
          if (batch.length === 0) break;
          for (const m of batch) {
            while (this.deps.mesh.bufferedAmount(recipient) > HIGH_WATER_BYTES) {
              await sleep(FLOW_POLL_MS);
              if (this.closed || this.deps.mesh.state(recipient) !== 'CONNECTED') return;
            }
            if (this.closed || this.deps.mesh.state(recipient) !== 'CONNECTED') return;
            const env = signEnvelope({
              type: 'STORE_MESSAGE', to: recipient,
              body: { sender: m.depositor, recipient, msgId: m.msgId, sealed: m.sealed, expiresAt: m.expiresAt },
            }, this.deps.identity, this.deps.signer);
            this.frames.queue(recipient, encodeEnvelope(env), () => this.counters.forwarded++);
            this.touch(recipient);
            after = m.seq;
          }
          // Let the batcher hand this batch to the channel before reading the next.
          await new Promise<void>((r) => setImmediate(r));
        }
      } while (this.forwardAgain.has(recipient) && !this.closed);
    } finally {
      this.forwarding.delete(recipient);
    }
  }

  private touch(recipient: string): void {
    this.lastActivity.delete(recipient);
    this.lastActivity.set(recipient, this.now());
    if (this.lastActivity.size > RECENTLY_DROPPED) this.lastActivity.delete(this.lastActivity.keys().next().value as string);
  }

  private purge(): void {
    const n = this.deps.store.purgeExpiredHeld(this.now());
    this.counters.purged += n;
  }

  private receipt(depositor: string, recipient: string): Receipt {
    const key = `${depositor}\n${recipient}`;
    let r = this.receipts.get(key);
    if (!r) {
      r = { held: [], refused: [] };
      this.receipts.set(key, r);
    }
    if (!this.receiptsScheduled) {
      this.receiptsScheduled = true;
      setImmediate(() => this.flushReceipts());
    }
    return r;
  }

  private flushReceipts(): void {
    this.receiptsScheduled = false;
    const all = [...this.receipts];
    this.receipts.clear();
    for (const [key, r] of all) {
      const [depositor, recipient] = key.split('\n') as [string, string];
      for (let i = 0; i < Math.max(r.held.length, r.refused.length); i += MAX_ACK_BATCH) {
        const env = signEnvelope({
          type: 'STORE_RECEIPT', to: depositor,
          body: { recipient, held: r.held.slice(i, i + MAX_ACK_BATCH), refused: r.refused.slice(i, i + MAX_ACK_BATCH) },
        }, this.deps.identity, this.deps.signer);
        this.frames.queue(depositor, encodeEnvelope(env));
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
