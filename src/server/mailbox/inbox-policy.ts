// Admission of client operations on inbox:{userId} queues (DESIGN section 7): the leader checks
// the signature and the depositor's rate before proposing, and stamps deposits with its clock,
// their expiry and the queue caps, so that every replica applies the same limits.
import { nodeSigner } from '../../main/crypto/node-signer';
import { checkInboxAuth, inboxOwner, type InboxOp } from '../../shared/mailbox-auth';
import type { ClientRequest, MailboxErrorCode } from '../../shared/schemas/mailbox';
import type { MachineCommand } from './state-machine';
import { KeyedBuckets } from '../../shared/rate-limit/keyed-buckets';

export interface InboxLimits {
  /** how long a deposit is held (default 30 days) */
  ttlMs: number;
  maxQueueMessages: number;
  maxQueueBytes: number;
  /** sustained deposits per second per depositor, and the burst above it */
  depositsPerSec: number;
  depositBurst: number;
}

export const DEFAULT_INBOX_LIMITS: InboxLimits = {
  ttlMs: 30 * 24 * 3600 * 1000,
  maxQueueMessages: 10_000,
  maxQueueBytes: 16 * 1024 * 1024,
  depositsPerSec: 50,
  depositBurst: 200,
};

/** Depositors whose bucket is remembered (leader-local: a new leader starts with full buckets). */
export const MAX_TRACKED_DEPOSITORS = 10_000;

/** One token bucket per depositor, bounded like every other per-identity limiter. */
export function depositRate(limits: Pick<InboxLimits, 'depositsPerSec' | 'depositBurst'>): KeyedBuckets {
  return new KeyedBuckets({ perSecond: limits.depositsPerSec, burst: limits.depositBurst }, MAX_TRACKED_DEPOSITORS);
}

export type Admission = { ok: true; cmd: MachineCommand | null } | { ok: false; code: MailboxErrorCode; reason: string };

type InboxRequest = Extract<ClientRequest, { op: 'APPEND' | 'READ' | 'ACK' }>;

/**
 * Decides an operation on an inbox queue. `cmd` is the log command to propose (null for READ,
 * which is served after ReadIndex as usual).
 */
export function admitInbox(req: InboxRequest, limits: InboxLimits, rate: KeyedBuckets, now: number): Admission {
  if (!inboxOwner(req.queue)) return { ok: false, code: 'SCHEMA', reason: `queue ${req.queue.slice(0, 80)} is under inbox: but is not inbox:{userId}` };
  const op: InboxOp =
    req.op === 'APPEND' ? { op: 'APPEND', queue: req.queue, reqId: req.reqId, data: req.data }
    : req.op === 'READ' ? { op: 'READ', queue: req.queue, clientId: req.clientId }
    : { op: 'ACK', queue: req.queue, clientId: req.clientId, seq: req.seq };
  const auth = checkInboxAuth(op, req.auth, nodeSigner, now);
  if (!auth.ok) return { ok: false, code: 'UNAUTHORIZED', reason: auth.reason };
  switch (req.op) {
    case 'READ':
      return { ok: true, cmd: null };
    case 'ACK':
      return { ok: true, cmd: { op: 'ACK', queue: req.queue, reader: req.clientId, seq: req.seq, at: now } };
    case 'APPEND':
      if (!rate.take(auth.by, now)) return { ok: false, code: 'RATE_LIMITED', reason: `deposits from ${auth.by.slice(0, 8)} over ${limits.depositsPerSec}/s; retry later` };
      return {
        ok: true,
        cmd: {
          op: 'APPEND', queue: req.queue, data: req.data, reqId: req.reqId,
          // de-duplication is scoped to the authenticated depositor, so nobody can pre-empt another's reqId
          clientId: `dep:${auth.by}`,
          at: now, exp: now + limits.ttlMs, create: true, maxMessages: limits.maxQueueMessages, maxBytes: limits.maxQueueBytes,
        },
      };
  }
}
