/**
 * Local-first delivery over the data channel (DESIGN section 5).
 *
 * A message is saved as `pending` with its outbox row before anything is sent. Each transmission
 * is a freshly signed CHAT_MESSAGE envelope whose id is the message id, so the receiver
 * de-duplicates by id and ACKs every copy; the message keeps its authoring time in the body.
 * Status only moves forward: pending → sent (handed to the channel) → stored (held by the mailbox)
 * → delivered (ACK from the recipient: unsigned on a direct channel, signed on any other path,
 * see DIRECT_UNSIGNED_TYPES). Retries back off per message and the attempt count lives in
 * SQLite. A stored message is no longer retried on a timer (its outbox row is parked at
 * STORED_AT); it is sent once more whenever a channel to the recipient opens, which is how the
 * sender gets the recipient's ACK for it.
 */
import type { ChatMessage, MessageStatus } from '../../shared/api';
import { backoffDelay } from '../../shared/backoff';
import type { Signer } from '../../shared/crypto';
import { DEFAULT_MAX_SKEW_MS, decodeEnvelope, encodeEnvelope, signEnvelope, unsignedEnvelope, type Envelope } from '../../shared/envelope';
import type { RejectCounter } from '../../shared/errors';
import type { Identity } from '../../shared/identity';
import { randomId } from '../../shared/ids';
import { ReplayGuard } from '../../shared/replay';
import { MAX_ACK_BATCH, parseDataChannelBody } from '../../shared/schemas/datachannel';
import type { OutboxEntry, Store } from '../store/types';
import { FrameBatcher, splitFrame } from './frame-batcher';
import { OwedAcks, type OwedAckLimits, type OwedAckStats } from './owed-acks';
import type { MeshLike } from './transport';

/** Above this many buffered bytes the flush pauses and polls (wrtc fires no bufferedamountlow). */
const HIGH_WATER_BYTES = 1 << 20;
const FLOW_POLL_MS = 5;
/** The fast path reads bufferedAmount once this many bytes were queued since the last read. */
const ROOM_CHECK_BYTES = HIGH_WATER_BYTES / 4;
const RETRY_BASE_MS = 2_000;
const RETRY_CAP_MS = 60_000;
/** next_attempt_at of an outbox row whose message the mailbox holds: never due for a timed retry. */
export const STORED_AT = Number.MAX_SAFE_INTEGER;
/** How long a message waits for a channel before it counts as having no live path (the fallback trigger). */
export const DEFAULT_NO_PATH_WAIT_MS = 3_000;
/**
 * At most this many saves, or received messages, or status writes, wait for one turn: a burst is
 * stored, sent and ACKed in slices, so both ends work at once instead of one verifying thousands
 * while the other idles (issue 11).
 */
export const MAX_TURN_ITEMS = 256;
/**
 * The attempt count, next attempt time and `sent` status of a message are written behind by at
 * least this long: most messages are ACKed within milliseconds, and the ACK's write supersedes
 * them. A crash inside the window loses only that retry state: the message is still in the outbox
 * (saved before it was shown) and is sent again at the next start.
 */
export const WRITE_BEHIND_MS = 1_000;
/**
 * What may arrive without its own signature, and only on a direct data channel: its DTLS
 * fingerprint came in a signed offer or answer, so the channel is bound to the peer's key
 * (DESIGN section 2). An ACK that travels further (deposited in a mailbox inbox, relayed) is
 * signed; so is every CHAT_MESSAGE, which is stored and may be forwarded.
 */
export const DIRECT_UNSIGNED_TYPES: readonly string[] = ['ACK'];

/** What delivery needs from the mailbox tier (mailbox-tier.ts). */
export interface StoreAndForward {
  deposit(to: string, items: { msgId: string; body: { text: string; sentAt?: number } }[]): Promise<string[]>;
}

export interface DeliveryDeps {
  store: Store;
  identity: Identity;
  signer: Signer;
  mesh: MeshLike;
  rejects: RejectCounter;
  isContact: (userId: string) => boolean;
  onMessage: (m: ChatMessage) => void;
  onStatus: (id: string, status: MessageStatus) => void;
  /** Verified envelopes of other types (file transfer control), passed on to their owner. */
  onOther?: (env: Envelope) => void;
  now?: () => number;
  /** Where messages go when there is no live path (null: they wait in the outbox). */
  mailbox?: StoreAndForward | null;
  /** True when the peer can't be reached directly now (offline, or every attempt failed). */
  unreachable?: (peer: string) => boolean;
  noPathWaitMs?: number;
  owedAckLimits?: OwedAckLimits;
  /**
   * Copies taken from a holder (mailbox, coordinator) whose sender has no channel open now: their
   * ACKs go back the same way (a signed ACK deposited in the sender's inbox), so a sender that can
   * never reach us directly still learns they were delivered.
   */
  returnAcks?: (sender: string, msgIds: string[]) => void;
  /**
   * True when frames to `peer` leave on a direct data channel now (not through a relay): its ACKs
   * then go unsigned (DIRECT_UNSIGNED_TYPES). Unset: every ACK is signed.
   */
  directPath?: (peer: string) => boolean;
}

/** At most this many messages are remembered in Delivery.sentTo (about 100 bytes each). */
const MAX_SENT_TO = 100_000;

/** Senders whose last message time is kept for ordering (contacts only; more just lose the tie-break). */
const MAX_ORDER_SENDERS = 10_000;

export class Delivery {
  private readonly now: () => number;
  private readonly frames: FrameBatcher;
  private readonly replay = new ReplayGuard({ windowMs: 10 * 60_000, maxEntries: 200_000 });
  /** Peers whose outbox is being pumped right now, so two opens don't interleave the order. */
  private readonly flushing = new Set<string>();
  /** Peers that got new work while a flush was running; `backlogAll` also asks for a full resend. */
  private readonly backlog = new Set<string>();
  private readonly backlogAll = new Set<string>();
  /** This process's view of when each sent message is due again (the DB copy is written behind). */
  private readonly nextAttempt = new Map<string, number>();
  /** Attempts made per message as this process counts them (the DB copy is written behind). */
  private readonly attempts = new Map<string, number>();
  /**
   * Whom this process sent each message to (until it is delivered): an ACK for those needs no read
   * of the store. Bounded; ids past the bound, and those of earlier runs, are checked in the store.
   */
  private readonly sentTo = new Map<string, string>();
  /**
   * Delivered in this run (bounded like sentTo, oldest dropped): `delivered` was announced from
   * memory, so a later ACK for the same id (a retry's) announces nothing, and an outbox row read
   * before the ACK's write landed is not sent or deposited again.
   */
  private readonly deliveredHere = new Set<string>();
  /** Announced `delivered` and written at the next turn (after the event has gone out). */
  private readonly deliveredBehind: string[] = [];
  /** Attempt and `sent` writes held back (WRITE_BEHIND_MS) so an ACK arriving first makes them unnecessary. */
  private readonly heldBack = new Map<string, HeldWrite>();
  /** Saved by this process and not yet sent: its `sent` is announced from memory, not from the DB row. */
  private readonly fresh = new Set<string>();
  /** `sent` announced, in order, at the start of the next turn (after the frame left and the save's replies). */
  private readonly announceSent: string[] = [];
  private inTurn = false;
  /** Set while a frame is handled: the turn runs at its end instead of a loop turn later. */
  private inFrame = false;
  private microScheduled = false;
  private readonly pendingWrites = new Map<string, PendingWrite>();
  private turnScheduled = false;
  private readonly outgoing: PendingSend[] = [];
  private readonly incoming: Envelope<{ text: string; sentAt?: number }>[] = [];
  /** Resolved once the incoming message of that id is on disk (mailbox fetches wait for it). */
  private readonly storedWaiters = new Map<string, (() => void)[]>();
  /** Messages that came through the mailbox, whose ACK still has to reach the sender directly (bounded). */
  private readonly acksOwed: OwedAcks;
  private readonly noPathTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly depositing = new Set<string>();
  private readonly depositAgain = new Set<string>();
  private retryTimer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private lastSentTs = 0;
  /** Per sender, the sentAt and the stored ts of its newest message (at most MAX_ORDER_SENDERS, oldest dropped). */
  private readonly lastFrom = new Map<string, { claimed: number; ts: number }>();
  private bytesSinceRoomCheck = 0;

  constructor(private readonly deps: DeliveryDeps) {
    this.now = deps.now ?? Date.now;
    this.acksOwed = new OwedAcks(deps.owedAckLimits, this.now);
    this.frames = new FrameBatcher((peer, frame) => deps.mesh.send(peer, frame));
  }

  start(): void {
    let ticks = 0;
    this.retryTimer = setInterval(() => {
      this.writeHeldBack(this.now() - WRITE_BEHIND_MS);
      this.retryDue();
      if (++ticks % 600 === 0) this.acksOwed.sweep();
    }, 1_000);
    this.retryTimer.unref?.();
    // Whatever a previous run left undelivered gets the same chance as a new message.
    for (const peer of this.deps.store.outboxPeers()) this.watchForNoPath(peer);
  }

  stop(): void {
    this.closed = true;
    if (this.retryTimer) clearInterval(this.retryTimer);
    for (const t of this.noPathTimers.values()) clearTimeout(t);
    this.noPathTimers.clear();
    this.runTurn();
    this.frames.flush();
    this.runTurn(); // announces what that flush sent
    this.flushWrites(); // the `delivered` writes that turn left behind
    this.writeHeldBack(Number.POSITIVE_INFINITY);
  }

  /**
   * Saves the message (local first) and sends it when a channel is open. Saves of one event-loop
   * turn share one transaction (group commit); the promise resolves once the message is on disk.
   */
  send(to: string, text: string): Promise<ChatMessage> {
    // Strictly increasing per sender, so two messages written in the same millisecond keep
    // their order on every device (conversations sort by ts, then sender, then id).
    const ts = Math.max(this.now(), this.lastSentTs + 1);
    this.lastSentTs = ts;
    const message: ChatMessage = { id: randomId(), from: this.deps.identity.userId, to, text, ts, status: 'pending' };
    return new Promise((resolve, reject) => {
      this.outgoing.push({ message, resolve, reject });
      if (this.outgoing.length >= MAX_TURN_ITEMS) this.schedule(this.outgoing.length);
      else this.scheduleSoon();
    });
  }

  /**
   * Saves a turn's new messages in one transaction, then sends each on the fast path. Returns what
   * is left to do after the frames have left: showing the messages and resolving the sends.
   */
  private saveOutgoingBatch(batch: PendingSend[]): () => void {
    try {
      this.deps.store.transaction(() => {
        for (const { message: m } of batch) {
          this.deps.store.saveOutgoing({ id: m.id, peer: m.to, sender: m.from, recipient: m.to, text: m.text, ts: m.ts }, storedBodyOf(m), 0);
        }
      });
    } catch (err) {
      return () => { for (const p of batch) p.reject(err as Error); };
    }
    const slow = new Set<string>();
    for (const { message } of batch) {
      this.fresh.add(message.id);
      const to = message.to;
      // Fast path: nothing queued ahead of it and the channel is open, so send it now instead
      // of rescanning the outbox for every message of a burst.
      if (!slow.has(to) && !this.flushing.has(to) && !this.backlog.has(to) && this.deps.mesh.state(to) === 'CONNECTED'
          && this.channelHasRoom(to, frameBytesAtMost(message.text)) && this.transmit(to, message.id, storedBodyOf(message), 0, 0)) continue;
      slow.add(to);
    }
    return () => {
      // Saved (committed above) before it shows, and before its reply.
      for (const { message, resolve } of batch) {
        this.deps.onMessage(message);
        resolve(message);
      }
      for (const to of slow) {
        void this.flush(to);
        this.watchForNoPath(to);
      }
    };
  }

  /**
   * Fallback trigger of store-and-forward until the discovery chain's store step calls
   * storeAndForward itself: a message that finds no open channel within noPathWaitMs while the
   * peer is unreachable goes to the mailbox. Checked again while the outbox still holds unstored
   * messages for the peer and no channel is open.
   */
  watchForNoPath(peer: string): void {
    if (!this.deps.mailbox || this.closed || this.noPathTimers.has(peer)) return;
    const timer = setTimeout(() => {
      this.noPathTimers.delete(peer);
      if (this.closed || this.deps.mesh.state(peer) === 'CONNECTED') return;
      if (this.deps.unreachable?.(peer) ?? true) void this.storeAndForward(peer);
      else this.watchForNoPath(peer);
    }, this.deps.noPathWaitMs ?? DEFAULT_NO_PATH_WAIT_MS);
    timer.unref?.();
    this.noPathTimers.set(peer, timer);
  }

  /**
   * No live path to `peer`: deposits everything of its outbox the mailbox doesn't hold yet, in
   * order, and marks it `stored`. The discovery chain's store step calls this; so does the
   * fallback timer. Resolves with how many messages were deposited.
   */
  async storeAndForward(peer: string): Promise<number> {
    const mailbox = this.deps.mailbox;
    if (!mailbox || this.closed) return 0;
    if (this.depositing.has(peer)) {
      this.depositAgain.add(peer);
      return 0;
    }
    this.depositing.add(peer);
    let total = 0;
    try {
      do {
        this.depositAgain.delete(peer);
        const rows = this.deps.store.outboxFor(peer).filter((r) => this.awaitsMailbox(r));
        if (rows.length === 0) break;
        const held = await mailbox.deposit(peer, rows.map((r) => ({ msgId: r.msgId, body: JSON.parse(r.envelope) as { text: string; sentAt: number } })));
        for (const id of held) {
          this.nextAttempt.set(id, STORED_AT);
          this.queueWrite(id, { status: 'stored', nextAttemptAt: STORED_AT });
        }
        total += held.length;
        if (held.length < rows.length) {
          this.watchForNoPath(peer); // the mailbox is unreachable or refused: try again later
          break;
        }
      } while (this.depositAgain.has(peer) && !this.closed);
    } finally {
      this.depositing.delete(peer);
    }
    return total;
  }

  /** A message fetched from this device's mailbox inbox: stored like one from the channel; resolves once on disk. */
  acceptStored(env: Envelope<{ text: string; sentAt?: number }>): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.storedWaiters.get(env.id) ?? [];
      waiters.push(resolve);
      this.storedWaiters.set(env.id, waiters);
      this.acksOwed.add(env.from, env.id);
      this.incoming.push(env);
      this.schedule();
    });
  }

  owedAckStats(): OwedAckStats {
    return this.acksOwed.stats();
  }

  /**
   * Reading bufferedAmount is a blocking call into WebRTC's thread (about 0.4 ms each on a loaded
   * machine), so the fast path reads it only after ROOM_CHECK_BYTES more were queued: the channel
   * can never hold more than that past the high-water mark.
   */
  private channelHasRoom(peer: string, bytes: number): boolean {
    this.bytesSinceRoomCheck += bytes;
    if (this.bytesSinceRoomCheck < ROOM_CHECK_BYTES) return true;
    this.bytesSinceRoomCheck = 0;
    return this.deps.mesh.bufferedAmount(peer) <= HIGH_WATER_BYTES;
  }

  /** Channel (re)opened: everything queued for the peer goes out again, in order. */
  onChannelOpen(peer: string): void {
    const owed = this.acksOwed.take(peer);
    if (owed.length > 0) this.sendAcks(peer, owed);
    void this.flush(peer, true);
  }

  /** The channel to a peer closed or its attempts failed: unsent messages may need the mailbox. */
  onPathLost(peer: string): void {
    if (this.deps.store.outboxFor(peer).some((r) => this.awaitsMailbox(r))) this.watchForNoPath(peer);
  }

  /**
   * Sends what is queued for `peer`, in order, while a channel is open: everything when `all`
   * (a new channel), otherwise only what has never been sent or is due for a retry.
   */
  async flush(peer: string, all = false): Promise<void> {
    if (this.closed) return;
    if (this.flushing.has(peer)) {
      this.backlog.add(peer);
      if (all) this.backlogAll.add(peer);
      return;
    }
    this.flushing.add(peer);
    try {
      do {
        this.backlog.delete(peer);
        all = all || this.backlogAll.delete(peer);
        const now = this.now();
        for (const row of this.deps.store.outboxFor(peer)) {
          if (this.deliveredHere.has(row.msgId)) continue; // its outbox row goes with the write behind
          if (!all && this.nextAttemptOf(row) > now) continue;
          if (this.closed || this.deps.mesh.state(peer) !== 'CONNECTED') return;
          while (this.deps.mesh.bufferedAmount(peer) > HIGH_WATER_BYTES) {
            await sleep(FLOW_POLL_MS);
            if (this.closed || this.deps.mesh.state(peer) !== 'CONNECTED') return;
          }
          if (!this.transmit(peer, row.msgId, row.envelope, row.attempts, this.nextAttemptOf(row))) return;
        }
        all = false;
      } while (this.backlog.has(peer));
    } finally {
      this.flushing.delete(peer);
      this.backlog.delete(peer);
    }
  }

  private transmit(peer: string, msgId: string, storedBody: string, attempts: number, nextAttemptAt: number): boolean {
    const body = JSON.parse(storedBody) as { text: string; sentAt: number };
    const env = signEnvelope({ type: 'CHAT_MESSAGE', to: peer, id: msgId, body }, this.deps.identity, this.deps.signer);
    if (this.deps.mesh.state(peer) !== 'CONNECTED') return false;
    if (this.sentTo.size < MAX_SENT_TO) this.sentTo.set(msgId, peer);
    if (nextAttemptAt === STORED_AT) {
      // Held by the mailbox: sent once per open channel for the ACK, never retried on a timer.
      this.frames.queue(peer, encodeEnvelope(env));
      return true;
    }
    const made = Math.max(attempts, this.attempts.get(msgId) ?? 0);
    this.nextAttempt.set(msgId, this.now() + backoffDelay(made, { baseMs: RETRY_BASE_MS, capMs: RETRY_CAP_MS }));
    this.attempts.set(msgId, made + 1);
    this.holdBack(msgId, 'attempt');
    // 'sent' means it left this device: only once the channel took the frame holding it.
    this.frames.queue(peer, encodeEnvelope(env), () => this.left(msgId));
    return true;
  }

  /** The frame holding the message was handed to the channel. */
  private left(msgId: string): void {
    if (this.fresh.delete(msgId)) {
      // Known to be pending (saved by this process, nothing else moved it): announce from memory.
      this.announceSent.push(msgId);
      this.holdBack(msgId, 'sent');
      this.schedule();
    } else if (!this.heldBack.get(msgId)?.sent) {
      // A row from an earlier run (or already stored): its status is the DB's to decide.
      this.queueWrite(msgId, { status: 'sent' });
    }
  }

  private holdBack(msgId: string, what: 'attempt' | 'sent'): void {
    const held = this.heldBack.get(msgId) ?? { since: this.now(), attempt: false, sent: false };
    held[what] = true;
    this.heldBack.set(msgId, held);
  }

  /** Writes the held-back attempt and `sent` writes queued at or before `upTo` (all of them at stop). */
  private writeHeldBack(upTo: number): void {
    const due: [string, HeldWrite][] = [];
    for (const entry of this.heldBack) if (entry[1].since <= upTo) due.push(entry);
    if (due.length === 0) return;
    for (const [id] of due) this.heldBack.delete(id);
    this.deps.store.transaction(() => {
      for (const [id, held] of due) {
        const next = this.nextAttempt.get(id);
        if (held.attempt && next !== undefined) this.deps.store.setAttempts(id, this.attempts.get(id) ?? 1, next);
        // Already announced; the row only catches up (a no-op if it moved on meanwhile).
        if (held.sent) this.deps.store.updateMessageStatus(id, 'sent');
      }
    });
  }

  private retryDue(): void {
    const now = this.now();
    // The DB's next_attempt_at may lag this process's (written behind): ours decides.
    const due = this.deps.store.outboxDue(now, 500).filter((r) => !this.deliveredHere.has(r.msgId) && this.nextAttemptOf(r) <= now);
    const peers = new Set(due.map((r) => r.peer));
    for (const peer of peers) if (this.deps.mesh.state(peer) === 'CONNECTED') void this.flush(peer);
  }

  /**
   * Handles one frame from `peer`: one or more envelopes. Anything invalid is counted and dropped.
   * `direct`: the frame came on our own data channel to `peer` (not through a relay), so an ACK in
   * it may be unsigned; anywhere else an unsigned envelope is refused.
   */
  onFrame(peer: string, frame: string, direct = false): void {
    const opts = { self: this.deps.identity.userId, signer: this.deps.signer, now: this.now(), ...(direct ? { unsignedTypes: DIRECT_UNSIGNED_TYPES } : {}) };
    // A frame is a bounded batch (MAX_FRAME_BYTES): what it brought is stored and ACKed, or its
    // ACKs written, at its end rather than a loop turn later (one hop less each way, issue 11).
    const outer = !this.inFrame;
    this.inFrame = true;
    try {
      for (const part of splitFrame(frame)) this.onEnvelope(peer, part, opts);
    } finally {
      if (outer) this.inFrame = false;
    }
    if (outer && !this.inTurn && (this.incoming.length > 0 || this.pendingWrites.size > 0)) this.runTurn();
  }

  private onEnvelope(peer: string, frame: string, opts: Parameters<typeof decodeEnvelope>[1]): void {
    const decoded = decodeEnvelope(frame, opts);
    if (!decoded.ok) {
      this.deps.rejects.count(decoded.code, decoded.reason, 'datachannel');
      return;
    }
    const env = decoded.value;
    // For an unsigned ACK this is what authenticates it: it came on the channel bound to `from`.
    if (env.from !== peer) {
      this.deps.rejects.count('WRONG_RECIPIENT', `frame signed by ${env.from.slice(0, 8)} arrived on the channel of ${peer.slice(0, 8)}`, 'datachannel');
      return;
    }
    // Retransmissions carry a new ts; the same (id, ts) twice is a captured frame played back.
    if (this.replay.seen(`${env.id}:${env.ts}`, env.ts)) {
      this.deps.rejects.count('REPLAY', `frame ${env.id} replayed`, 'datachannel');
      return;
    }
    const body = parseDataChannelBody(env.type, env.body);
    if (!body.ok) {
      this.deps.rejects.count(body.code, body.reason, 'datachannel');
      return;
    }
    if (env.type === 'CHAT_MESSAGE') this.onChat(env as Envelope<{ text: string; sentAt?: number }>);
    else if (env.type === 'ACK') this.onAck(env as Envelope<{ msgId?: string; msgIds?: string[] }>);
    else this.deps.onOther?.({ ...env, body: body.value.body });
  }

  private onChat(env: Envelope<{ text: string; sentAt?: number }>): void {
    if (!this.deps.isContact(env.from)) {
      this.deps.rejects.count('UNAUTHORIZED', `chat message from non-contact ${env.from.slice(0, 8)}`, 'datachannel');
      return;
    }
    this.incoming.push(env);
    this.schedule(this.incoming.length);
  }

  /**
   * Stores a turn's incoming messages in one transaction and queues the ACKs for all (stored
   * before the ACK). Returns what is left for after the ACKs have left: showing the new ones.
   */
  private storeIncomingBatch(batch: Envelope<{ text: string; sentAt?: number }>[]): () => void {
    const receivedAt = this.now();
    const fresh: ChatMessage[] = [];
    this.deps.store.transaction(() => {
      for (const env of batch) {
        const message: ChatMessage = { id: env.id, from: env.from, to: env.to, text: env.body.text, ts: this.orderedTs(env, receivedAt), status: 'delivered' };
        const { inserted } = this.deps.store.insertMessage({
          id: message.id, peer: env.from, sender: env.from, recipient: env.to, text: message.text, ts: message.ts, status: 'delivered', receivedAt,
        });
        if (inserted) fresh.push(message);
      }
    });
    const fromHolders = new Map<string, string[]>();
    for (const env of batch) {
      const waiters = this.storedWaiters.get(env.id);
      if (!waiters) continue;
      this.storedWaiters.delete(env.id);
      for (const done of waiters) done();
      if (this.deps.mesh.state(env.from) !== 'CONNECTED') fromHolders.set(env.from, [...(fromHolders.get(env.from) ?? []), env.id]);
    }
    for (const [sender, ids] of fromHolders) this.deps.returnAcks?.(sender, ids);
    // One signed ACK per sender and batch; a duplicate is ACKed again (its first ACK may be lost).
    const idsBySender = new Map<string, string[]>();
    for (const env of batch) {
      const ids = idsBySender.get(env.from) ?? [];
      ids.push(env.id);
      idsBySender.set(env.from, ids);
    }
    for (const [sender, ids] of idsBySender) {
      if (this.deps.mesh.state(sender) === 'CONNECTED') this.acksOwed.settle(sender, ids);
      this.sendAcks(sender, ids);
    }
    return () => { for (const m of fresh) this.deps.onMessage(m); };
  }

  /**
   * ACKs on a direct channel rely on the channel (no signature: about a sign and a verify less per
   * round trip); through a relay they are signed. Should the path change to the relay between this
   * and the flush (the same turn), the peer refuses the unsigned ACK and the message's retry gets
   * a signed one.
   */
  private sendAcks(sender: string, ids: string[]): void {
    const direct = this.deps.directPath?.(sender) ?? false;
    for (let i = 0; i < ids.length; i += MAX_ACK_BATCH) {
      const draft = { type: 'ACK', to: sender, body: { msgIds: ids.slice(i, i + MAX_ACK_BATCH) } };
      const ack = direct ? unsignedEnvelope(draft, this.deps.identity) : signEnvelope(draft, this.deps.identity, this.deps.signer);
      this.frames.queue(sender, encodeEnvelope(ack));
    }
  }

  /**
   * The time a message is stored and sorted by. The sender says when it was written (a queued
   * message is older than its envelope), but that is its word only: it may not lie ahead of the
   * arrival, nor further back than the envelope skew window, or a contact could pin messages
   * above every real one (year 2200) or bury them (1970). Clamped claims are counted.
   */
  /**
   * The stored ts of a received message, in the sender's order. A burst's sentAt values run ahead
   * of the clock (the sender makes them strictly increasing), so clamping each to the one arrival
   * time of its batch tied them, and the tie-break by random id shuffled the burst (its newest
   * message was not the bottom row). A message newer than the sender's last one therefore sorts
   * at least 1 ms after it: the order stays the sender's, ahead of the clock by at most the burst.
   */
  private orderedTs(env: Envelope<{ sentAt?: number }>, receivedAt: number): number {
    const bounded = this.boundedSentAt(env, receivedAt);
    // A claim outside the skew window counts as its stored time, so one absurd claim (year 2200)
    // can't make every later message of that sender look older.
    const raw = env.body.sentAt ?? env.ts;
    const claimed = Math.abs(raw - receivedAt) > DEFAULT_MAX_SKEW_MS ? bounded : raw;
    const last = this.lastFrom.get(env.from);
    if (last && claimed <= last.claimed) return bounded; // an older message (a retry): its own time
    const ts = last && bounded <= last.ts ? last.ts + 1 : bounded;
    this.lastFrom.delete(env.from);
    this.lastFrom.set(env.from, { claimed, ts });
    if (this.lastFrom.size > MAX_ORDER_SENDERS) this.lastFrom.delete(this.lastFrom.keys().next().value as string);
    return ts;
  }

  private boundedSentAt(env: Envelope<{ sentAt?: number }>, receivedAt: number): number {
    const claimed = env.body.sentAt ?? env.ts;
    const earliest = receivedAt - DEFAULT_MAX_SKEW_MS;
    if (claimed > receivedAt) {
      if (claimed > receivedAt + DEFAULT_MAX_SKEW_MS) this.deps.rejects.count('FUTURE', `sentAt of ${env.id} is ${claimed - receivedAt} ms ahead; stored as the arrival time`, 'sentAt');
      return receivedAt;
    }
    if (claimed < earliest) {
      this.deps.rejects.count('STALE', `sentAt of ${env.id} is ${receivedAt - claimed} ms old; stored as ${DEFAULT_MAX_SKEW_MS} ms before arrival`, 'sentAt');
      return earliest;
    }
    return claimed;
  }

  /** A signed ACK that came back through a holder (mailbox-tier.ts opened and verified it). */
  acceptStoredAck(env: Envelope<{ msgId?: string; msgIds?: string[] }>): void {
    this.onAck(env, 'mailbox');
  }

  private onAck(env: Envelope<{ msgId?: string; msgIds?: string[] }>, source = 'datachannel'): void {
    const ids = env.body.msgIds ?? (env.body.msgId ? [env.body.msgId] : []);
    // Sent to env.from by this process: known without a read. Anything else: the store decides.
    const unknown = ids.filter((id) => this.sentTo.get(id) !== env.from);
    const ours = unknown.length > 0 ? new Set(this.deps.store.idsSentTo(env.from, unknown)) : null;
    for (const id of ids) {
      if (this.sentTo.get(id) !== env.from && !ours?.has(id)) {
        this.deps.rejects.count('UNAUTHORIZED', `ACK for a message not sent to ${env.from.slice(0, 8)}`, source);
        continue;
      }
      this.onDelivered(id);
    }
  }

  private onDelivered(id: string): void {
    this.nextAttempt.delete(id);
    this.queueWrite(id, { status: 'delivered' });
  }

  /** Status and attempt writes are batched into one transaction per event-loop turn. */
  private queueWrite(id: string, write: PendingWrite): void {
    const prev = this.pendingWrites.get(id);
    if (prev?.status === 'delivered') return;
    this.pendingWrites.set(id, { ...prev, ...write });
    this.schedule(this.pendingWrites.size);
  }

  /**
   * One batch per event-loop turn: saves of new messages, stores of received ones, status writes.
   * A queue that reaches MAX_TURN_ITEMS runs its turn at once instead of growing for the whole burst.
   */
  private schedule(queued = 0): void {
    if (queued >= MAX_TURN_ITEMS && !this.inTurn) {
      this.runTurn();
      return;
    }
    if (this.inFrame && !this.inTurn) return; // onFrame runs the turn at its end
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => {
      this.turnScheduled = false;
      this.runTurn();
    });
  }

  /**
   * New messages are saved at the end of the current task (a microtask), not a loop turn later:
   * the lines of one stdin chunk, or the calls of one IPC message, are all made by then, so they
   * still share one transaction. `sent` is announced by the loop turn after (schedule()).
   */
  private scheduleSoon(): void {
    if (this.microScheduled) return;
    this.microScheduled = true;
    queueMicrotask(() => {
      this.microScheduled = false;
      if (this.outgoing.length > 0) this.runTurn();
    });
  }

  /**
   * Commits first (saved before shown, stored before ACKed), then lets the frames leave, and only
   * then does the bookkeeping: events, replies, status writes.
   */
  private runTurn(): void {
    if (this.inTurn) return;
    this.inTurn = true;
    try {
      // `sent` of the previous turn's frames, before anything that could move those messages on.
      for (const id of this.announceSent.splice(0)) this.deps.onStatus(id, 'sent');
      const after: (() => void)[] = [];
      if (this.outgoing.length > 0) after.push(this.saveOutgoingBatch(this.outgoing.splice(0)));
      if (this.incoming.length > 0) after.push(this.storeIncomingBatch(this.incoming.splice(0)));
      this.frames.flush();
      for (const done of after) done();
      this.flushWrites();
    } finally {
      this.inTurn = false;
    }
  }

  /**
   * Writes the turn's status and attempt changes in one transaction, then announces them.
   * `delivered` of a message this process sent in this run, and has not seen delivered, is known
   * from memory: it is announced first and written at the next turn, so the event does not wait
   * for the commit (issue 11, delivery p50). That write is what a crash can lose: the message is
   * then still in the outbox as sent, goes out again at the next start, and the recipient, which
   * de-duplicates by id, ACKs it again. Anything else is the store's to decide, as before.
   */
  private flushWrites(): void {
    if (this.pendingWrites.size === 0 && this.deliveredBehind.length === 0) return;
    const batch = [...this.pendingWrites];
    this.pendingWrites.clear();
    const behind = this.deliveredBehind.splice(0);
    const changed: [string, MessageStatus][] = [];
    const delivered: string[] = [];
    const announced: string[] = [];
    for (const [id, write] of batch) {
      if (write.status !== 'delivered' || !this.sentTo.has(id) || this.deliveredHere.has(id)) continue;
      this.remember(id);
      announced.push(id);
      this.deps.onStatus(id, 'delivered');
    }
    if (announced.length > 0) {
      this.deliveredBehind.push(...announced);
      this.schedule(this.deliveredBehind.length);
    }
    this.deps.store.transaction(() => {
      for (const [id, write] of batch) {
        if (write.status && write.status !== 'sent') {
          // Moved past `sent`: what was held back for it is superseded.
          this.fresh.delete(id);
          this.heldBack.delete(id);
        }
        if (write.status === 'delivered') {
          this.sentTo.delete(id);
          this.nextAttempt.delete(id);
          this.attempts.delete(id);
          // Announced (now or earlier in this run): its write is behind, and nothing is announced twice.
          if (!this.deliveredHere.has(id)) delivered.push(id);
          continue;
        }
        if (write.nextAttemptAt !== undefined) {
          const held = this.heldBack.get(id);
          if (held) held.attempt = false;
          this.deps.store.markAttempt(id, write.nextAttemptAt);
        }
        if (write.status && this.deps.store.updateMessageStatus(id, write.status)) changed.push([id, write.status]);
      }
      // An ACK batch is the bulk of these writes: two statements for all of it, not two per id.
      const moved = this.deps.store.markDelivered(delivered);
      for (const id of delivered) if (moved.has(id)) changed.push([id, 'delivered']);
      if (behind.length > 0) this.deps.store.markDelivered(behind); // announced already
    });
    for (const [id, status] of changed) this.deps.onStatus(id, status);
  }

  /** An outbox row's next attempt: this process's own, written behind, is newer than the row's. */
  private nextAttemptOf(row: OutboxEntry): number {
    return this.nextAttempt.get(row.msgId) ?? row.nextAttemptAt;
  }

  /** Not in the mailbox yet, and not delivered in this run (its outbox row goes with the write behind). */
  private awaitsMailbox(row: OutboxEntry): boolean {
    return !this.deliveredHere.has(row.msgId) && this.nextAttemptOf(row) !== STORED_AT;
  }

  private remember(id: string): void {
    this.deliveredHere.add(id);
    if (this.deliveredHere.size > MAX_SENT_TO) this.deliveredHere.delete(this.deliveredHere.values().next().value as string);
  }
}

interface PendingWrite { status?: MessageStatus; nextAttemptAt?: number }
interface HeldWrite { since: number; attempt: boolean; sent: boolean }
interface PendingSend { message: ChatMessage; resolve: (m: ChatMessage) => void; reject: (e: Error) => void }

function storedBodyOf(m: ChatMessage): string {
  return JSON.stringify({ text: m.text, sentAt: m.ts });
}

/** An upper bound on a chat envelope's encoded size: 3 UTF-8 bytes per UTF-16 unit, plus ids, keys and signature. */
function frameBytesAtMost(text: string): number {
  return text.length * 3 + 512;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
