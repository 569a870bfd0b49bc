/**
 * The sender's side of store-and-forward tier 1: when there is no live path to a contact, its
 * queued messages are deposited with a connected coordinator that says (NETWORK_STATE storesFor)
 * it holds messages for that contact. A deposit counts as held only once the coordinator's
 * STORE_RECEIPT names it; refused or unanswered ones are left for the next coordinator and then
 * the mailbox (tiers.ts).
 */
import type { Signer } from '../../../shared/crypto';
import { encodeEnvelope, signEnvelope } from '../../../shared/envelope';
import type { RejectCounter } from '../../../shared/errors';
import type { Identity } from '../../../shared/identity';
import type { DataChannelBodies } from '../../../shared/schemas/datachannel';
import { FrameBatcher } from '../frame-batcher';
import { sealChat, type ChatBody } from '../sealed-chat';
import type { MeshLike } from '../transport';

/** How long the sender asks a coordinator to keep a copy (the coordinator may keep it less). */
export const DEFAULT_STORE_TTL_MS = 7 * 24 * 3600_000;
/** Deposits awaiting a receipt at once, per call. */
const DEPOSIT_WINDOW = 64;
const RECEIPT_TIMEOUT_MS = 10_000;
const MAX_COORDINATORS_TRIED = 4;

export interface DepositItem { msgId: string; body: ChatBody }

export interface DepositorDeps {
  identity: Identity;
  signer: Signer;
  mesh: Pick<MeshLike, 'send' | 'state'>;
  rejects: RejectCounter;
  /** Connected peers that hold messages for `to`, best first. */
  coordinatorsFor: (to: string) => string[];
  ttlMs?: number;
  receiptTimeoutMs?: number;
  now?: () => number;
}

interface Waiting { resolve: (held: boolean) => void }

export class CoordinatorDepositor {
  private readonly now: () => number;
  private readonly frames: FrameBatcher;
  /** `${coordinator}\n${msgId}` → the deposit waiting for its receipt. */
  private readonly waiting = new Map<string, Waiting>();

  constructor(private readonly deps: DepositorDeps) {
    this.now = deps.now ?? Date.now;
    this.frames = new FrameBatcher((peer, frame) => deps.mesh.send(peer, frame));
  }

  /** Deposits with the coordinators for `to`, in order; resolves with the ids one of them now holds. */
  async deposit(to: string, items: DepositItem[]): Promise<string[]> {
    const held = new Set<string>();
    let left = items;
    for (const coordinator of this.deps.coordinatorsFor(to).filter((c) => c !== to).slice(0, MAX_COORDINATORS_TRIED)) {
      if (left.length === 0) break;
      for (let i = 0; i < left.length; i += DEPOSIT_WINDOW) {
        if (this.deps.mesh.state(coordinator) !== 'CONNECTED') break;
        const window = left.slice(i, i + DEPOSIT_WINDOW);
        const results = await Promise.all(window.map((item) => this.depositOne(coordinator, to, item)));
        window.forEach((item, k) => { if (results[k]) held.add(item.msgId); });
      }
      left = left.filter((item) => !held.has(item.msgId));
    }
    return items.filter((item) => held.has(item.msgId)).map((item) => item.msgId);
  }

  private depositOne(coordinator: string, to: string, item: DepositItem): Promise<boolean> {
    const key = `${coordinator}\n${item.msgId}`;
    const sealed = sealChat(to, item.msgId, item.body, this.deps.identity, this.deps.signer);
    const body: DataChannelBodies['STORE_MESSAGE'] = {
      sender: this.deps.identity.userId, recipient: to, msgId: item.msgId, sealed, expiresAt: this.now() + (this.deps.ttlMs ?? DEFAULT_STORE_TTL_MS),
    };
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), this.deps.receiptTimeoutMs ?? RECEIPT_TIMEOUT_MS);
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        if (this.waiting.get(key)?.resolve === finish) this.waiting.delete(key);
        resolve(ok);
      };
      this.waiting.get(key)?.resolve(false);
      this.waiting.set(key, { resolve: finish });
      const env = signEnvelope({ type: 'STORE_MESSAGE', to: coordinator, body }, this.deps.identity, this.deps.signer);
      this.frames.queue(coordinator, encodeEnvelope(env));
    });
  }

  /** A coordinator's receipt: only for deposits we made with that very coordinator. */
  onReceipt(from: string, body: DataChannelBodies['STORE_RECEIPT']): void {
    let unsolicited = 0;
    const settle = (msgId: string, held: boolean): void => {
      const w = this.waiting.get(`${from}\n${msgId}`);
      if (w) w.resolve(held);
      else unsolicited++;
    };
    for (const id of body.held) settle(id, true);
    for (const r of body.refused) settle(r.msgId, false);
    if (unsolicited > 0) this.deps.rejects.count('UNAUTHORIZED', `STORE_RECEIPT from ${from.slice(0, 8)} names ${unsolicited} deposit(s) not made with it (or answered late)`, 'coordinator');
  }

  stop(): void {
    for (const w of [...this.waiting.values()]) w.resolve(false);
    this.waiting.clear();
  }
}
