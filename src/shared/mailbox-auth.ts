/**
 * Who may do what with `inbox:{userId}` on the mailbox cluster (DESIGN section 7):
 *   APPEND (deposit) — any identity, signed by the depositor;
 *   READ and ACK     — only the owner's devices, signed by the owner.
 * Each signature covers the operation's fields and a timestamp; the node accepts it only within
 * the skew window. A replayed READ reveals nothing (the payload is sealed to the owner), a replayed
 * ACK names its seq and so can only repeat what the owner did, a replayed APPEND carries its reqId
 * and is de-duplicated.
 */
import { canonicalBytes, toBase64, tryFromBase64 } from './encoding';
import type { Signer } from './crypto';
import { publicKeyFromUserId, USER_ID_RE, type Identity } from './identity';
import { DEFAULT_MAX_SKEW_MS } from './envelope';

export const INBOX_PREFIX = 'inbox:';
const INBOX_RE = /^inbox:([0-9a-f]{64})$/;

export interface MailboxAuth {
  /** userId of the signer */
  by: string;
  ts: number;
  sig: string;
}

export type InboxOp =
  | { op: 'APPEND'; queue: string; reqId: string; data: string }
  | { op: 'READ'; queue: string; clientId: string }
  | { op: 'ACK'; queue: string; clientId: string; seq: number };

export function inboxQueue(userId: string): string {
  return `${INBOX_PREFIX}${userId}`;
}

/** True for every queue name under the inbox prefix (a malformed one is refused, not generic). */
export function isInboxName(queue: string): boolean {
  return queue.startsWith(INBOX_PREFIX);
}

/** The owner of `inbox:{userId}`, or null for any other name. */
export function inboxOwner(queue: string): string | null {
  return INBOX_RE.exec(queue)?.[1] ?? null;
}

function signedBytes(op: InboxOp, by: string, ts: number): Uint8Array {
  return canonicalBytes({ kind: 'mailbox-auth', by, ts, ...op });
}

export function signInboxOp(op: InboxOp, identity: Identity, signer: Signer, ts = Date.now()): MailboxAuth {
  return { by: identity.userId, ts, sig: toBase64(signer.sign(signedBytes(op, identity.userId, ts), identity.secretKey)) };
}

export type AuthCheck = { ok: true; by: string } | { ok: false; reason: string };

/**
 * Checks `auth` for `op` on an inbox queue: a valid signature by the right identity (the owner for
 * READ/ACK, anyone for APPEND) made within `maxSkewMs` of `now`.
 */
export function checkInboxAuth(op: InboxOp, auth: MailboxAuth | undefined, signer: Signer, now: number, maxSkewMs = DEFAULT_MAX_SKEW_MS): AuthCheck {
  const owner = inboxOwner(op.queue);
  if (!owner) return { ok: false, reason: `${op.queue.slice(0, 80)} is not inbox:{userId}` };
  if (!auth) return { ok: false, reason: `${op.op} on ${op.queue.slice(0, 20)}… needs a signature` };
  if (!USER_ID_RE.test(auth.by)) return { ok: false, reason: 'auth.by is not a userId' };
  if (op.op !== 'APPEND' && auth.by !== owner) return { ok: false, reason: `${op.op} of another user's inbox (signed by ${auth.by.slice(0, 8)})` };
  if (Math.abs(now - auth.ts) > maxSkewMs) return { ok: false, reason: `signature time ${auth.ts} is outside the ${maxSkewMs} ms window` };
  const key = publicKeyFromUserId(auth.by);
  const sig = tryFromBase64(auth.sig);
  if (!key || !sig || !signer.verify(signedBytes(op, auth.by, auth.ts), sig, key)) return { ok: false, reason: 'bad signature' };
  return { ok: true, by: auth.by };
}
