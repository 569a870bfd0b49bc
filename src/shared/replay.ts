export interface ReplayGuardOptions {
  /** How long an id is remembered after its timestamp; must cover the accepted clock skew on both sides. */
  windowMs: number;
  /** Hard cap on remembered ids; the oldest are forgotten first. */
  maxEntries: number;
  now?: () => number;
}

/**
 * Remembers recently seen message ids. Envelopes older than the skew window are rejected as STALE
 * before they get here, so forgetting ids after `windowMs` past their timestamp is safe.
 */
export class ReplayGuard {
  private readonly expiries = new Map<string, number>();
  private readonly windowMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: ReplayGuardOptions) {
    this.windowMs = options.windowMs;
    this.maxEntries = Math.max(1, options.maxEntries);
    this.now = options.now ?? Date.now;
  }

  /** Records the id; returns true if it was already seen within the window. */
  seen(id: string, ts: number): boolean {
    const now = this.now();
    this.prune(now);
    const expiry = this.expiries.get(id);
    if (expiry !== undefined && expiry > now) return true;
    if (expiry !== undefined) this.expiries.delete(id);
    this.expiries.set(id, Math.max(ts, now) + this.windowMs);
    if (this.expiries.size > this.maxEntries) {
      const oldest = this.expiries.keys().next().value;
      if (oldest !== undefined) this.expiries.delete(oldest);
    }
    return false;
  }

  /** Checks without recording. */
  has(id: string): boolean {
    const expiry = this.expiries.get(id);
    return expiry !== undefined && expiry > this.now();
  }

  get size(): number {
    return this.expiries.size;
  }

  /** Insertion order is close to expiry order, so dropping expired entries from the front is enough. */
  private prune(now: number): void {
    for (const [id, expiry] of this.expiries) {
      if (expiry > now) break;
      this.expiries.delete(id);
    }
  }
}
