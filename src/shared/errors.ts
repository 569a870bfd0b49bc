export type RejectCode =
  | 'BAD_JSON'
  | 'SCHEMA'
  | 'OVERSIZE'
  | 'BAD_SIGNATURE'
  | 'WRONG_RECIPIENT'
  | 'STALE'
  | 'FUTURE'
  | 'REPLAY'
  | 'UNKNOWN_TYPE'
  | 'DECRYPT_FAILED'
  | 'UNAUTHORIZED'
  // file transfers: unknown or not-accepted transfer, an offer refused by a cap, a chunk that breaks
  // the protocol (seq, size, framing), content not matching the signed offer, an unsafe file name
  | 'FILE_UNKNOWN'
  | 'FILE_REFUSED'
  | 'FILE_BAD_CHUNK'
  | 'FILE_HASH_MISMATCH'
  | 'FILE_BAD_NAME'
  // an offer's thumbnail that is not a small PNG/JPEG/GIF/WebP/BMP (dropped; the offer stands)
  | 'FILE_BAD_THUMB'
  // contact requests: over a rate limit, the pending list is full, from a blocked user, a repeat
  | 'RATE_LIMITED'
  | 'FULL'
  | 'BLOCKED'
  | 'DUPLICATE';

export const REJECT_CODES: readonly RejectCode[] = [
  'BAD_JSON', 'SCHEMA', 'OVERSIZE', 'BAD_SIGNATURE', 'WRONG_RECIPIENT', 'STALE', 'FUTURE', 'REPLAY',
  'UNKNOWN_TYPE', 'DECRYPT_FAILED', 'UNAUTHORIZED',
  'FILE_UNKNOWN', 'FILE_REFUSED', 'FILE_BAD_CHUNK', 'FILE_HASH_MISMATCH', 'FILE_BAD_NAME', 'FILE_BAD_THUMB',
  'RATE_LIMITED', 'FULL', 'BLOCKED', 'DUPLICATE',
];

export type Rejection = { ok: false; code: RejectCode; reason: string };
export type Result<T> = { ok: true; value: T } | Rejection;

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function reject(code: RejectCode, reason: string): Rejection {
  return { ok: false, code, reason };
}

export interface RejectEvent<C extends string = RejectCode> {
  code: C;
  reason: string;
  source: string | undefined;
  at: number;
}

/**
 * Counts rejected inputs per code (and per `source:code`), keeping the last few for diagnostics.
 * `onReject` lets the owner log each one.
 */
export class RejectCounter<C extends string = RejectCode> {
  private readonly counts = new Map<string, number>();
  private readonly recentEvents: RejectEvent<C>[] = [];
  total = 0;

  constructor(
    private readonly options: { keepRecent?: number; onReject?: (event: RejectEvent<C>) => void } = {},
  ) {}

  count(code: C, reason: string, source?: string): void {
    this.total++;
    this.bump(code);
    if (source !== undefined) this.bump(`${source}:${code}`);
    const event: RejectEvent<C> = { code, reason, source, at: Date.now() };
    const keep = this.options.keepRecent ?? 20;
    if (keep > 0) {
      this.recentEvents.push(event);
      if (this.recentEvents.length > keep) this.recentEvents.shift();
    }
    this.options.onReject?.(event);
  }

  /** Convenience: counts a rejected Result and passes it through. */
  track<T>(this: RejectCounter, result: Result<T>, source?: string): Result<T> {
    if (!result.ok) this.count(result.code, result.reason, source);
    return result;
  }

  get(code: C): number {
    return this.counts.get(code) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  recent(): readonly RejectEvent<C>[] {
    return this.recentEvents;
  }

  private bump(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
}
