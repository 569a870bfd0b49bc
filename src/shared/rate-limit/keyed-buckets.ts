import { TokenBucket, type RateLimit } from './token-bucket';

/**
 * One token bucket per key (a userId), so a limit survives reconnects: a new connection of the
 * same identity finds the bucket it emptied. Bounded: when the table is full, buckets that have
 * refilled are forgotten (a fresh one would be identical); only if none has, the oldest go.
 */
export class KeyedBuckets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(readonly limit: RateLimit, private readonly maxKeys = 100_000) {}

  take(key: string, now: number): boolean {
    return this.bucket(key, now).take(now);
  }

  waitMs(key: string, now: number): number {
    return this.buckets.get(key)?.waitMs(now) ?? 0;
  }

  get size(): number {
    return this.buckets.size;
  }

  private bucket(key: string, now: number): TokenBucket {
    let bucket = this.buckets.get(key);
    if (bucket) return bucket;
    if (this.buckets.size >= this.maxKeys) this.makeRoom(now);
    bucket = new TokenBucket(this.limit, now);
    this.buckets.set(key, bucket);
    return bucket;
  }

  private makeRoom(now: number): void {
    for (const [key, bucket] of this.buckets) if (bucket.isFull(now)) this.buckets.delete(key);
    // Every tracked identity is busy: drop the oldest tenth at once so this scan stays rare.
    if (this.buckets.size >= this.maxKeys) {
      let excess = this.buckets.size - Math.floor(this.maxKeys * 0.9);
      for (const key of this.buckets.keys()) {
        if (excess-- <= 0) break;
        this.buckets.delete(key);
      }
    }
  }
}
