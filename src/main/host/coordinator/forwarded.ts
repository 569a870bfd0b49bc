/**
 * The recipient's side of store-and-forward tier 1: a coordinator forwards a sealed copy it held
 * for us (STORE_MESSAGE with us as recipient). It is opened and checked like a mailbox entry
 * (sealed-chat.ts), stored through delivery (which shows it once, whatever path it also came by,
 * and owes its author an ACK), and only then ACKed to the coordinator with STORE_ACK, which is
 * what lets the coordinator delete it. A copy that can never be accepted (junk, expired, from a
 * stranger) is counted and ACKed as well, so it can't sit at the coordinator and come back.
 */
import type { Signer } from '../../../shared/crypto';
import { encodeEnvelope, signEnvelope, type Envelope } from '../../../shared/envelope';
import type { RejectCounter } from '../../../shared/errors';
import type { Identity } from '../../../shared/identity';
import { MAX_ACK_BATCH, type DataChannelBodies } from '../../../shared/schemas/datachannel';
import { FrameBatcher } from '../frame-batcher';
import { openSealedChat, type ChatBody } from '../sealed-chat';
import type { MeshLike } from '../transport';

export interface ForwardedDeps {
  identity: Identity;
  signer: Signer;
  mesh: Pick<MeshLike, 'send'>;
  rejects: RejectCounter;
  isContact: (userId: string) => boolean;
  /** Stores a verified message locally; resolves once it is on disk. */
  storeLocal: (env: Envelope<ChatBody>) => Promise<void>;
  now?: () => number;
}

export class ForwardedCopies {
  private readonly now: () => number;
  private readonly frames: FrameBatcher;
  private readonly acks = new Map<string, string[]>();
  private acksScheduled = false;
  /** copies received through a coordinator and stored (for tests and the bench) */
  received = 0;

  constructor(private readonly deps: ForwardedDeps) {
    this.now = deps.now ?? Date.now;
    this.frames = new FrameBatcher((peer, frame) => deps.mesh.send(peer, frame));
  }

  onForward(coordinator: string, body: DataChannelBodies['STORE_MESSAGE']): void {
    const { rejects } = this.deps;
    if (!this.deps.isContact(coordinator)) {
      // Not ACKed: a stranger gets no answer from us at all.
      rejects.count('UNAUTHORIZED', `forwarded copy from non-contact ${coordinator.slice(0, 8)}`, 'coordinator');
      return;
    }
    if (body.expiresAt <= this.now()) {
      rejects.count('STALE', `copy ${body.msgId} forwarded by ${coordinator.slice(0, 8)} after its expiry`, 'coordinator');
      this.ack(coordinator, body.msgId);
      return;
    }
    const env = openSealedChat(body.sender, body.sealed, this.deps, 'coordinator');
    if (!env) {
      this.ack(coordinator, body.msgId);
      return;
    }
    if (env.id !== body.msgId) {
      rejects.count('SCHEMA', `copy forwarded as ${body.msgId} holds message ${env.id}`, 'coordinator');
      this.ack(coordinator, body.msgId);
      return;
    }
    void this.deps.storeLocal(env).then(() => {
      this.received++;
      this.ack(coordinator, body.msgId);
    });
  }

  private ack(coordinator: string, msgId: string): void {
    const ids = this.acks.get(coordinator) ?? [];
    ids.push(msgId);
    this.acks.set(coordinator, ids);
    if (this.acksScheduled) return;
    this.acksScheduled = true;
    setImmediate(() => this.flushAcks());
  }

  private flushAcks(): void {
    this.acksScheduled = false;
    const all = [...this.acks];
    this.acks.clear();
    for (const [coordinator, ids] of all) {
      for (let i = 0; i < ids.length; i += MAX_ACK_BATCH) {
        const env = signEnvelope({ type: 'STORE_ACK', to: coordinator, body: { msgIds: ids.slice(i, i + MAX_ACK_BATCH) } }, this.deps.identity, this.deps.signer);
        this.frames.queue(coordinator, encodeEnvelope(env));
      }
    }
  }

  stop(): void {
    this.flushAcks();
    this.frames.flush();
  }
}
