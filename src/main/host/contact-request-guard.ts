/**
 * Admission of contact requests from people the user does not know yet. Anyone on the broker can
 * sign a request with a fresh identity, so every new pending request costs a stored row and a
 * user-facing event: these are capped (pending rows in total), rate-limited per sender and per
 * broker connection (all of them arrive over ours), and refused ones are counted by the caller.
 * Requests from people the user already added or accepted never come here.
 */
import { KeyedBuckets } from '../../shared/rate-limit/keyed-buckets';
import { TokenBucket, type RateLimit } from '../../shared/rate-limit/token-bucket';

export interface ContactRequestLimits {
  /** Pending incoming requests kept at once; more are refused until the user answers or clears. */
  maxPending: number;
  /** New requests (or name changes) per sender. */
  perSender: RateLimit;
  /** New requests from strangers over this broker connection, all senders together. */
  perConnection: RateLimit;
  /** Senders whose bucket is remembered (oldest refilled ones are forgotten first). */
  maxTrackedSenders: number;
}

export const DEFAULT_CONTACT_REQUEST_LIMITS: ContactRequestLimits = {
  maxPending: 100,
  perSender: { burst: 2, perSecond: 1 / 60 },
  perConnection: { burst: 20, perSecond: 1 / 3 },
  maxTrackedSenders: 4096,
};

export type Admission = { ok: true } | { ok: false; code: 'RATE_LIMITED' | 'FULL'; reason: string };

export class ContactRequestGuard {
  private readonly senders: KeyedBuckets;
  private readonly connection: TokenBucket;

  constructor(private readonly limits: ContactRequestLimits, private readonly now: () => number) {
    this.senders = new KeyedBuckets(limits.perSender, limits.maxTrackedSenders);
    this.connection = new TokenBucket(limits.perConnection, now());
  }

  /** A request that would add a pending row (`pending` = rows there now) or change one. */
  admit(from: string, pending: number, isNew: boolean): Admission {
    const now = this.now();
    if (!this.senders.take(from, now)) return { ok: false, code: 'RATE_LIMITED', reason: `contact requests from ${from.slice(0, 8)} faster than ${this.limits.perSender.burst} per ${Math.round(1 / this.limits.perSender.perSecond)} s` };
    if (!isNew) return { ok: true };
    if (pending >= this.limits.maxPending) return { ok: false, code: 'FULL', reason: `${pending} contact requests are already waiting (at most ${this.limits.maxPending})` };
    if (!this.connection.take(now)) return { ok: false, code: 'RATE_LIMITED', reason: 'contact requests from strangers arrive faster than allowed on this broker connection' };
    return { ok: true };
  }
}
