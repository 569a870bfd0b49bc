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

  take(now: number): boolean {
    const elapsedSec = Math.max(0, now - this.updatedAt) / 1000;
    this.tokens = Math.min(this.limit.burst, this.tokens + elapsedSec * this.limit.perSecond);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
