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
import { parseDataChannelBody } from '../../shared/schemas/datachannel';
import type { Store } from '../store/types';
import type { MeshLike } from './transport';

/** Above this many buffered bytes the flush pauses and polls (wrtc fires no bufferedamountlow). */
const HIGH_WATER_BYTES = 1 << 20;
const FLOW_POLL_MS = 5;
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
  private readonly replay = new ReplayGuard({ windowMs: 10 * 60_000, maxEntries: 200_000 });
  /** Peers whose outbox is being pumped right now, so two opens don't interleave the order. */
  private readonly flushing = new Set<string>();
  private readonly pendingStatus = new Map<string, MessageStatus>();
  private statusFlushScheduled = false;
  private retryTimer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private lastSentTs = 0;

  constructor(private readonly deps: DeliveryDeps) {
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    this.retryTimer = setInterval(() => this.retryDue(), 1_000);
    this.retryTimer.unref?.();
  }

  stop(): void {
    this.closed = true;
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.flushStatuses();
  }

  send(to: string, text: string): ChatMessage {
    // Strictly increasing per sender, so two messages written in the same millisecond keep
    // their order on every device (conversations sort by ts, then sender, then id).
    const ts = Math.max(this.now(), this.lastSentTs + 1);
    this.lastSentTs = ts;
    const message: ChatMessage = { id: randomId(), from: this.deps.identity.userId, to, text, ts, status: 'pending' };
    this.deps.store.saveOutgoing(
      { id: message.id, peer: to, sender: message.from, recipient: to, text, ts: message.ts },
      JSON.stringify({ text, sentAt: message.ts }),
    );
    this.deps.onMessage(message);
    void this.flush(to);
    return message;
  }

  /** Sends everything queued for `peer`, in order, if a channel is open. */
  async flush(peer: string): Promise<void> {
    if (this.flushing.has(peer) || this.closed) return;
    this.flushing.add(peer);
    try {
      for (const row of this.deps.store.outboxFor(peer)) {
        if (this.closed || this.deps.mesh.state(peer) !== 'CONNECTED') return;
        while (this.deps.mesh.bufferedAmount(peer) > HIGH_WATER_BYTES) {
          await sleep(FLOW_POLL_MS);
          if (this.closed || this.deps.mesh.state(peer) !== 'CONNECTED') return;
        }
        if (!this.transmit(peer, row.msgId, row.envelope)) return;
        this.deps.store.markAttempt(row.msgId, this.now() + backoffDelay(row.attempts, { baseMs: RETRY_BASE_MS, capMs: RETRY_CAP_MS }));
      }
    } finally {
      this.flushing.delete(peer);
    }
  }

  private transmit(peer: string, msgId: string, storedBody: string): boolean {
    const body = JSON.parse(storedBody) as { text: string; sentAt: number };
    const env = signEnvelope({ type: 'CHAT_MESSAGE', to: peer, id: msgId, body }, this.deps.identity, this.deps.signer);
    if (!this.deps.mesh.send(peer, encodeEnvelope(env))) return false;
    this.setStatus(msgId, 'sent');
    return true;
  }

  private retryDue(): void {
    const due = this.deps.store.outboxDue(this.now(), 500);
    const peers = new Set(due.map((r) => r.peer));
    for (const peer of peers) if (this.deps.mesh.state(peer) === 'CONNECTED') void this.flush(peer);
  }

  /** Handles one frame from the data channel. Anything invalid is counted and dropped. */
  onFrame(peer: string, frame: string): void {
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
    else if (env.type === 'ACK') this.onAck(env as Envelope<{ msgId: string }>);
  }

  private onChat(env: Envelope<{ text: string; sentAt?: number }>): void {
    if (!this.deps.isContact(env.from)) {
      this.deps.rejects.count('UNAUTHORIZED', `chat message from non-contact ${env.from.slice(0, 8)}`, 'datachannel');
      return;
    }
    const message: ChatMessage = {
      id: env.id, from: env.from, to: env.to, text: env.body.text, ts: env.body.sentAt ?? env.ts, status: 'delivered',
    };
    const { inserted } = this.deps.store.insertMessage({
      id: message.id, peer: env.from, sender: env.from, recipient: env.to, text: message.text, ts: message.ts,
      status: 'delivered', receivedAt: this.now(),
    });
    if (inserted) this.deps.onMessage(message);
    const ack = signEnvelope({ type: 'ACK', to: env.from, body: { msgId: env.id } }, this.deps.identity, this.deps.signer);
    this.deps.mesh.send(env.from, encodeEnvelope(ack));
  }

  private onAck(env: Envelope<{ msgId: string }>): void {
    const msg = this.deps.store.getMessage(env.body.msgId);
    if (!msg || msg.recipient !== env.from) {
      this.deps.rejects.count('UNAUTHORIZED', `ACK for a message not sent to ${env.from.slice(0, 8)}`, 'datachannel');
      return;
    }
    this.setStatus(msg.id, 'delivered');
  }

  /** Status writes are batched into one transaction per event-loop turn. */
  private setStatus(id: string, status: MessageStatus): void {
    const prev = this.pendingStatus.get(id);
    if (prev === 'delivered' && status === 'sent') return;
    this.pendingStatus.set(id, status);
    if (!this.statusFlushScheduled) {
      this.statusFlushScheduled = true;
      setImmediate(() => this.flushStatuses());
    }
  }

  private flushStatuses(): void {
    this.statusFlushScheduled = false;
    if (this.pendingStatus.size === 0) return;
    const batch = [...this.pendingStatus];
    this.pendingStatus.clear();
    const changed: [string, MessageStatus][] = [];
    this.deps.store.transaction(() => {
      for (const [id, status] of batch) {
        if (this.deps.store.updateMessageStatus(id, status)) changed.push([id, status]);
        if (status === 'delivered') this.deps.store.removeFromOutbox(id);
      }
    });
    for (const [id, status] of changed) this.deps.onStatus(id, status);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
