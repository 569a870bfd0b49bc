/**
 * The mailbox tier of store-and-forward (DESIGN sections 7 and 9): deposits what can't be
 * delivered directly in the recipient's `inbox:{userId}` on the mailbox cluster, and fetches this
 * device's own inbox at start, on a "new mail" nudge and by polling.
 *
 * A deposit is the whole signed CHAT_MESSAGE envelope, sealed to the recipient (nacl box): the
 * mailbox sees who deposited for whom, never the text, and can't forge a message. The deposit's
 * reqId is the message id, so a repeated deposit (after a crash, or a retry whose outcome was
 * unknown) is the same deposit. This device reads from its own position (clientId = deviceId) and
 * ACKs an entry only after it is stored locally (or refused for good, so junk can't jam the inbox).
 */
import { z } from 'zod';
import { MailboxClient, MailboxError } from '../../server/mailbox/client';
import type { Signer } from '../../shared/crypto';
import type { Envelope } from '../../shared/envelope';
import type { RejectCounter } from '../../shared/errors';
import { USER_ID_RE, type Identity } from '../../shared/identity';
import { inboxQueue, signInboxOp, type MailboxAuth } from '../../shared/mailbox-auth';
import { MAX_DATA_CHARS } from '../../shared/schemas/mailbox';
import { MAX_ACK_BATCH } from '../../shared/schemas/datachannel';
import { openSealed, sealAck, sealChat, type AckBody, type ChatBody } from './sealed-chat';

export type { ChatBody };

export const DEFAULT_POLL_MS = 30_000;
/**
 * A nudge makes this device READ at once, but nudge-started fetches are at least this far apart:
 * more nudges within it are folded into one fetch at its end. Nudges are signed and come only from
 * contacts (the host checks), and all one can do is make us read our own inbox; this bounds what a
 * contact flooding nudges costs us (and the mailbox) to one READ round per interval.
 */
export const NUDGE_MIN_INTERVAL_MS = 2_000;

/** Receipts waiting to be deposited: senders, and ids per sender. */
const MAX_RECEIPT_PEERS = 1_000;
const MAX_RECEIPT_IDS = 2_048;

/** Deposits in flight at once (one connection, pipelined; the leader keeps their order). */
const DEPOSIT_WINDOW = 32;

const zPayload = z.strictObject({ v: z.literal(1), from: z.string().regex(USER_ID_RE), sealed: z.string().min(1).max(MAX_DATA_CHARS) });

export interface MailboxTierDeps {
  seeds: string[];
  identity: Identity;
  signer: Signer;
  deviceId: string;
  rejects: RejectCounter;
  isContact: (userId: string) => boolean;
  /** Stores a verified message locally; resolves once it is on disk. */
  storeLocal: (env: Envelope<ChatBody>) => Promise<void>;
  /** Tells `to` there is new mail (a signed nudge on their signaling topic). */
  nudge: (to: string) => void;
  /** A receipt a contact deposited for us: their ACK of messages we sent them. */
  onAck?: (env: Envelope<AckBody>) => void;
  pollMs?: number;
  nudgeMinIntervalMs?: number;
  onError?: (message: string) => void;
  now?: () => number;
}

export interface MailboxStats {
  /** READ requests sent (one per entry, plus the one that finds the inbox empty). */
  reads: number;
  /** Entries fetched and stored locally. */
  fetched: number;
  nudges: { received: number; fetches: number; coalesced: number };
}

/**
 * One chat deposit as the mailbox stores it: the signed CHAT_MESSAGE sealed to `to`, and the
 * depositor's signature over the APPEND (the inbox policy checks it before proposing).
 */
export function sealedDeposit(to: string, msgId: string, body: ChatBody, identity: Identity, signer: Signer): { queue: string; data: string; auth: MailboxAuth } {
  const queue = inboxQueue(to);
  const data = JSON.stringify({ v: 1, from: identity.userId, sealed: sealChat(to, msgId, body, identity, signer) });
  return { queue, data, auth: signInboxOp({ op: 'APPEND', queue, reqId: msgId, data }, identity, signer) };
}

export class MailboxTier {
  private readonly client: MailboxClient;
  private readonly queue: string;
  private fetching: Promise<void> | null = null;
  private fetchAgain = false;
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  /** entries fetched and stored by this process (for tests and the bench) */
  fetched = 0;
  private reads = 0;
  private readonly nudges = { received: 0, fetches: 0, coalesced: 0 };
  private lastNudgeFetchAt = -Infinity;
  private nudgeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Receipts to deposit for senders we can't reach, sent when the current fetch round ends. */
  private readonly receipts = new Map<string, Set<string>>();
  private sendingReceipts: Promise<void> | null = null;

  constructor(private readonly deps: MailboxTierDeps) {
    this.client = new MailboxClient({ seeds: deps.seeds, timeoutMs: 15_000, attemptTimeoutMs: 3_000, clientId: `dev-${deps.deviceId}` });
    this.queue = inboxQueue(deps.identity.userId);
  }

  start(): void {
    this.fetchSoon();
    this.pollTimer = setInterval(() => this.fetchSoon(), this.deps.pollMs ?? DEFAULT_POLL_MS);
    this.pollTimer.unref?.();
  }

  async stop(): Promise<void> {
    this.closed = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.nudgeTimer);
    await this.fetching?.catch(() => undefined);
    this.client.close();
  }

  /**
   * Deposits messages for `to`, in order; resolves with the ids the mailbox now holds (a failed
   * one stays in the outbox, and so does everything after it).
   */
  async deposit(to: string, items: { msgId: string; body: ChatBody }[]): Promise<string[]> {
    const queue = inboxQueue(to);
    const { identity, signer } = this.deps;
    const held: string[] = [];
    for (let i = 0; i < items.length && !this.closed; i += DEPOSIT_WINDOW) {
      const window = items.slice(i, i + DEPOSIT_WINDOW);
      const results = await Promise.allSettled(
        window.map((item) => {
          const d = sealedDeposit(to, item.msgId, item.body, identity, signer);
          return this.client.append(queue, d.data, item.msgId, { auth: d.auth });
        }),
      );
      const firstFailure = results.findIndex((r) => r.status === 'rejected');
      const okCount = firstFailure === -1 ? window.length : firstFailure;
      held.push(...window.slice(0, okCount).map((w) => w.msgId));
      if (firstFailure !== -1) {
        const reason = (results[firstFailure] as PromiseRejectedResult).reason as Error;
        this.deps.onError?.(`mailbox deposit for ${to.slice(0, 8)} failed: ${reason.message}`);
        break;
      }
    }
    if (held.length > 0) this.deps.nudge(to);
    return held;
  }

  /**
   * ACKs for `to` of copies we fetched while it has no channel to us: deposited in its inbox as
   * one signed, sealed ACK per batch once the fetch round ends (bounded: a contact that floods our
   * inbox gets at most MAX_RECEIPT_IDS ids back per round; the rest wait for a channel).
   */
  returnAcks(to: string, msgIds: string[]): void {
    if (this.closed) return;
    let ids = this.receipts.get(to);
    if (!ids) {
      if (this.receipts.size >= MAX_RECEIPT_PEERS) return;
      ids = new Set();
      this.receipts.set(to, ids);
    }
    for (const id of msgIds) if (ids.size < MAX_RECEIPT_IDS) ids.add(id);
    if (!this.fetching) void this.sendReceipts();
  }

  private sendReceipts(): Promise<void> {
    if (this.sendingReceipts) return this.sendingReceipts;
    const run = async (): Promise<void> => {
      const { identity, signer } = this.deps;
      while (this.receipts.size > 0 && !this.closed) {
        const [to, set] = this.receipts.entries().next().value as [string, Set<string>];
        this.receipts.delete(to);
        const ids = [...set];
        const queue = inboxQueue(to);
        try {
          for (let i = 0; i < ids.length; i += MAX_ACK_BATCH) {
            const { id, sealed } = sealAck(to, ids.slice(i, i + MAX_ACK_BATCH), identity, signer);
            const data = JSON.stringify({ v: 1, from: identity.userId, sealed });
            await this.client.append(queue, data, id, { auth: signInboxOp({ op: 'APPEND', queue, reqId: id, data }, identity, signer) });
          }
          this.deps.nudge(to);
        } catch (err) {
          // Not lost: the owed-ACK list still holds them for the next channel.
          this.deps.onError?.(`mailbox receipt for ${to.slice(0, 8)} failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    };
    this.sendingReceipts = run().finally(() => {
      this.sendingReceipts = null;
    });
    return this.sendingReceipts;
  }

  /** A contact's "new mail" nudge (signature and contact already checked): fetch now, at most once per interval. */
  nudged(): void {
    if (this.closed) return;
    this.nudges.received++;
    const now = (this.deps.now ?? Date.now)();
    const wait = this.lastNudgeFetchAt + (this.deps.nudgeMinIntervalMs ?? NUDGE_MIN_INTERVAL_MS) - now;
    if (wait <= 0 && !this.nudgeTimer) {
      this.nudgeFetch();
      return;
    }
    this.nudges.coalesced++;
    if (this.nudgeTimer) return;
    this.nudgeTimer = setTimeout(() => {
      this.nudgeTimer = undefined;
      this.nudgeFetch();
    }, Math.max(0, wait));
    this.nudgeTimer.unref?.();
  }

  private nudgeFetch(): void {
    this.lastNudgeFetchAt = (this.deps.now ?? Date.now)();
    this.nudges.fetches++;
    this.fetchSoon();
  }

  stats(): MailboxStats {
    return { reads: this.reads, fetched: this.fetched, nudges: { ...this.nudges } };
  }

  /** Fetches this device's inbox now (coalesced with a fetch already running). */
  fetchSoon(): void {
    if (this.closed) return;
    if (this.fetching) {
      this.fetchAgain = true;
      return;
    }
    this.fetching = this.fetchAll()
      .catch((err: unknown) => this.deps.onError?.(`mailbox fetch failed: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => {
        this.fetching = null;
        if (this.receipts.size > 0) void this.sendReceipts();
        if (this.fetchAgain && !this.closed) {
          this.fetchAgain = false;
          this.fetchSoon();
        }
      });
  }

  /** Resolves once the fetch running now (if any) and any it triggered are done. */
  async idle(): Promise<void> {
    while (this.fetching) await this.fetching;
  }

  private async fetchAll(): Promise<void> {
    const { identity, signer, deviceId } = this.deps;
    const clientId = deviceId;
    while (!this.closed) {
      let entry;
      this.reads++;
      try {
        entry = await this.client.read(this.queue, clientId, signInboxOp({ op: 'READ', queue: this.queue, clientId }, identity, signer));
      } catch (err) {
        if (err instanceof MailboxError && err.code === 'NO_QUEUE') return; // nobody has written to us yet
        throw err;
      }
      if ('empty' in entry) return;
      const env = this.open(entry.data);
      if (env?.type === 'ACK') this.deps.onAck?.(env as Envelope<AckBody>);
      else if (env) {
        await this.deps.storeLocal(env as Envelope<ChatBody>);
        this.fetched++;
      }
      await this.client.ack(this.queue, clientId, entry.seq, signInboxOp({ op: 'ACK', queue: this.queue, clientId, seq: entry.seq }, identity, signer));
    }
  }

  /** Verifies one inbox entry; anything invalid is counted (source `mailbox`) and skipped. */
  private open(data: string): Envelope<ChatBody> | Envelope<AckBody> | null {
    return openDeposit(data, this.deps);
  }
}

/** Verifies one inbox entry as the recipient's device does; anything invalid is counted (source `mailbox`) and skipped. */
export function openDeposit(data: string, deps: Pick<MailboxTierDeps, 'identity' | 'signer' | 'rejects' | 'isContact'>): Envelope<ChatBody> | Envelope<AckBody> | null {
  const { rejects } = deps;
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    rejects.count('BAD_JSON', 'mailbox entry is not JSON', 'mailbox');
    return null;
  }
  const payload = zPayload.safeParse(raw);
  if (!payload.success) {
    rejects.count('SCHEMA', 'mailbox entry is not a sealed deposit', 'mailbox');
    return null;
  }
  return openSealed(payload.data.from, payload.data.sealed, deps, 'mailbox', ['CHAT_MESSAGE', 'ACK']);
}
