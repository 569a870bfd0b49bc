/**
 * Local-first delivery over the data channel (DESIGN section 5).
 *
 * A message is saved as `pending` with its outbox row before anything is sent. Each transmission
 * is a freshly signed CHAT_MESSAGE envelope whose id is the message id, so the receiver
 * de-duplicates by id and ACKs every copy; the message keeps its authoring time in the body.
 * Status only moves forward: pending → sent (handed to the channel) → delivered (ACK from the
 * recipient). Retries back off per message and the attempt count lives in SQLite.
 */
import type { ChatMessage, MessageStatus } from '../../shared/api';
import { backoffDelay } from '../../shared/backoff';
import type { Signer } from '../../shared/crypto';
import { decodeEnvelope, encodeEnvelope, signEnvelope, type Envelope } from '../../shared/envelope';
import type { RejectCounter } from '../../shared/errors';
import type { Identity } from '../../shared/identity';
import { randomId } from '../../shared/ids';
import { ReplayGuard } from '../../shared/replay';
import { MAX_ACK_BATCH, parseDataChannelBody } from '../../shared/schemas/datachannel';
import type { Store } from '../store/types';
import { FrameBatcher, splitFrame } from './frame-batcher';
import type { MeshLike } from './transport';

/** Above this many buffered bytes the flush pauses and polls (wrtc fires no bufferedamountlow). */
const HIGH_WATER_BYTES = 1 << 20;
const FLOW_POLL_MS = 5;
const ROOM_CHECK_EVERY = 32;
const RETRY_BASE_MS = 2_000;
const RETRY_CAP_MS = 60_000;

export interface DeliveryDeps {
  store: Store;
  identity: Identity;
  signer: Signer;
  mesh: MeshLike;
  rejects: RejectCounter;
  isContact: (userId: string) => boolean;
  onMessage: (m: ChatMessage) => void;
  onStatus: (id: string, status: MessageStatus) => void;
  now?: () => number;
}

export class Delivery {
  private readonly now: () => number;
  private readonly frames: FrameBatcher;
  private readonly replay = new ReplayGuard({ windowMs: 10 * 60_000, maxEntries: 200_000 });
  /** Peers whose outbox is being pumped right now, so two opens don't interleave the order. */
  private readonly flushing = new Set<string>();
  /** Peers that got new work while a flush was running; `backlogAll` also asks for a full resend. */
  private readonly backlog = new Set<string>();
  private readonly backlogAll = new Set<string>();
  /** This process's view of when each sent message is due again (the DB copy is written in batches). */
  private readonly nextAttempt = new Map<string, number>();
  private readonly pendingWrites = new Map<string, PendingWrite>();
  private turnScheduled = false;
  private readonly outgoing: PendingSend[] = [];
  private readonly incoming: Envelope<{ text: string; sentAt?: number }>[] = [];
  private retryTimer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private lastSentTs = 0;
  private sendsSinceRoomCheck = 0;

  constructor(private readonly deps: DeliveryDeps) {
    this.now = deps.now ?? Date.now;
    this.frames = new FrameBatcher((peer, frame) => deps.mesh.send(peer, frame));
  }

  start(): void {
    this.retryTimer = setInterval(() => this.retryDue(), 1_000);
    this.retryTimer.unref?.();
  }

  stop(): void {
    this.closed = true;
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.runTurn();
    this.frames.flush();
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
      this.schedule();
    });
  }

  private saveOutgoingBatch(batch: PendingSend[]): void {
    try {
      this.deps.store.transaction(() => {
        for (const { message: m } of batch) {
          this.deps.store.saveOutgoing({ id: m.id, peer: m.to, sender: m.from, recipient: m.to, text: m.text, ts: m.ts }, storedBodyOf(m), 0);
        }
      });
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
      return;
    }
    for (const { message, resolve } of batch) {
      this.deps.onMessage(message);
      resolve(message);
      const to = message.to;
      // Fast path: nothing queued ahead of it and the channel is open, so send it now instead
      // of rescanning the outbox for every message of a burst.
      if (!this.flushing.has(to) && !this.backlog.has(to) && this.deps.mesh.state(to) === 'CONNECTED'
          && this.channelHasRoom(to) && this.transmit(to, message.id, storedBodyOf(message), 0)) continue;
      void this.flush(to);
    }
  }

  /**
   * Reading bufferedAmount crosses into native code, so the fast path looks only every
   * ROOM_CHECK_EVERY sends; that many small frames are far below the high-water mark.
   */
  private channelHasRoom(peer: string): boolean {
    if (++this.sendsSinceRoomCheck < ROOM_CHECK_EVERY) return true;
    this.sendsSinceRoomCheck = 0;
    return this.deps.mesh.bufferedAmount(peer) <= HIGH_WATER_BYTES;
  }

  /** Channel (re)opened: everything queued for the peer goes out again, in order. */
  onChannelOpen(peer: string): void {
    void this.flush(peer, true);
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
          if (!all && (this.nextAttempt.get(row.msgId) ?? row.nextAttemptAt) > now) continue;
          if (this.closed || this.deps.mesh.state(peer) !== 'CONNECTED') return;
          while (this.deps.mesh.bufferedAmount(peer) > HIGH_WATER_BYTES) {
            await sleep(FLOW_POLL_MS);
            if (this.closed || this.deps.mesh.state(peer) !== 'CONNECTED') return;
          }
          if (!this.transmit(peer, row.msgId, row.envelope, row.attempts)) return;
        }
        all = false;
      } while (this.backlog.has(peer));
    } finally {
      this.flushing.delete(peer);
      this.backlog.delete(peer);
    }
  }

  private transmit(peer: string, msgId: string, storedBody: string, attempts: number): boolean {
    const body = JSON.parse(storedBody) as { text: string; sentAt: number };
    const env = signEnvelope({ type: 'CHAT_MESSAGE', to: peer, id: msgId, body }, this.deps.identity, this.deps.signer);
    if (this.deps.mesh.state(peer) !== 'CONNECTED') return false;
    const next = this.now() + backoffDelay(attempts, { baseMs: RETRY_BASE_MS, capMs: RETRY_CAP_MS });
    this.nextAttempt.set(msgId, next);
    this.queueWrite(msgId, { nextAttemptAt: next });
    // 'sent' means it left this device: only once the channel took the frame holding it.
    this.frames.queue(peer, encodeEnvelope(env), () => this.queueWrite(msgId, { status: 'sent' }));
    return true;
  }

  private retryDue(): void {
    const due = this.deps.store.outboxDue(this.now(), 500);
    const peers = new Set(due.map((r) => r.peer));
    for (const peer of peers) if (this.deps.mesh.state(peer) === 'CONNECTED') void this.flush(peer);
  }

  /** Handles one frame from the data channel: one or more envelopes. Anything invalid is counted and dropped. */
  onFrame(peer: string, frame: string): void {
    for (const part of splitFrame(frame)) this.onEnvelope(peer, part);
  }

  private onEnvelope(peer: string, frame: string): void {
    const decoded = decodeEnvelope(frame, { self: this.deps.identity.userId, signer: this.deps.signer, now: this.now() });
    if (!decoded.ok) {
      this.deps.rejects.count(decoded.code, decoded.reason, 'datachannel');
      return;
    }
    const env = decoded.value;
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
  }

  private onChat(env: Envelope<{ text: string; sentAt?: number }>): void {
    if (!this.deps.isContact(env.from)) {
      this.deps.rejects.count('UNAUTHORIZED', `chat message from non-contact ${env.from.slice(0, 8)}`, 'datachannel');
      return;
    }
    this.incoming.push(env);
    this.schedule();
  }

  /** Stores a turn's incoming messages in one transaction, then shows the new ones and ACKs all. */
  private storeIncomingBatch(batch: Envelope<{ text: string; sentAt?: number }>[]): void {
    const receivedAt = this.now();
    const fresh: ChatMessage[] = [];
    this.deps.store.transaction(() => {
      for (const env of batch) {
        const message: ChatMessage = { id: env.id, from: env.from, to: env.to, text: env.body.text, ts: env.body.sentAt ?? env.ts, status: 'delivered' };
        const { inserted } = this.deps.store.insertMessage({
          id: message.id, peer: env.from, sender: env.from, recipient: env.to, text: message.text, ts: message.ts, status: 'delivered', receivedAt,
        });
        if (inserted) fresh.push(message);
      }
    });
    for (const m of fresh) this.deps.onMessage(m);
    // One signed ACK per sender and batch; a duplicate is ACKed again (its first ACK may be lost).
    const idsBySender = new Map<string, string[]>();
    for (const env of batch) {
      const ids = idsBySender.get(env.from) ?? [];
      ids.push(env.id);
      idsBySender.set(env.from, ids);
    }
    for (const [sender, ids] of idsBySender) {
      for (let i = 0; i < ids.length; i += MAX_ACK_BATCH) {
        const ack = signEnvelope({ type: 'ACK', to: sender, body: { msgIds: ids.slice(i, i + MAX_ACK_BATCH) } }, this.deps.identity, this.deps.signer);
        this.frames.queue(sender, encodeEnvelope(ack));
      }
    }
  }

  private onAck(env: Envelope<{ msgId?: string; msgIds?: string[] }>): void {
    for (const id of env.body.msgIds ?? (env.body.msgId ? [env.body.msgId] : [])) {
      const msg = this.deps.store.getMessage(id);
      if (!msg || msg.recipient !== env.from) {
        this.deps.rejects.count('UNAUTHORIZED', `ACK for a message not sent to ${env.from.slice(0, 8)}`, 'datachannel');
        continue;
      }
      this.onDelivered(msg.id);
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
    this.schedule();
  }

  /** One batch per event-loop turn: saves of new messages, stores of received ones, status writes. */
  private schedule(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => this.runTurn());
  }

  private runTurn(): void {
    this.turnScheduled = false;
    if (this.outgoing.length > 0) this.saveOutgoingBatch(this.outgoing.splice(0));
    if (this.incoming.length > 0) this.storeIncomingBatch(this.incoming.splice(0));
    this.flushWrites();
  }

  private flushWrites(): void {
    if (this.pendingWrites.size === 0) return;
    const batch = [...this.pendingWrites];
    this.pendingWrites.clear();
    const changed: [string, MessageStatus][] = [];
    this.deps.store.transaction(() => {
      for (const [id, write] of batch) {
        if (write.status === 'delivered') {
          this.deps.store.removeFromOutbox(id);
        } else if (write.nextAttemptAt !== undefined) {
          this.deps.store.markAttempt(id, write.nextAttemptAt);
        }
        if (write.status && this.deps.store.updateMessageStatus(id, write.status)) changed.push([id, write.status]);
      }
    });
    for (const [id, status] of changed) this.deps.onStatus(id, status);
  }
}

interface PendingWrite { status?: MessageStatus; nextAttemptAt?: number }
interface PendingSend { message: ChatMessage; resolve: (m: ChatMessage) => void; reject: (e: Error) => void }

function storedBodyOf(m: ChatMessage): string {
  return JSON.stringify({ text: m.text, sentAt: m.ts });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
