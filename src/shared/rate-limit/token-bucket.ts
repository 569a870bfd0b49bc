export interface RateLimit {
  /** Messages a client may send back to back. */
  burst: number;
  /** Sustained messages per second. */
  perSecond: number;
}

/** Classic token bucket; time is injected so tests need not sleep. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(private readonly limit: RateLimit, now: number) {
    this.tokens = limit.burst;
    this.updatedAt = now;
  }

  /** Takes `cost` tokens (1 per message; the relay counts bytes) if the bucket holds that many. */
  take(now: number, cost = 1): boolean {
    this.refill(now);
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }

  /** A full bucket is the same as a new one, so it can be forgotten without loss. */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.limit.burst;
  }

  /** Milliseconds until the next token. */
  waitMs(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.limit.perSecond) * 1000);
  }

  private refill(now: number): void {
    const elapsedSec = Math.max(0, now - this.updatedAt) / 1000;
    this.tokens = Math.min(this.limit.burst, this.tokens + elapsedSec * this.limit.perSecond);
    this.updatedAt = Math.max(this.updatedAt, now);
  }
}
