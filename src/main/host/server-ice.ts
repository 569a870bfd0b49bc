/**
 * The ICE servers (and TURN credentials) the user's registry hands out (`GET /ice`), kept fresh:
 * fetched at start, again halfway to the credentials' expiry, and after a failure with backoff.
 * What the server sends is checked (src/shared/schemas/ice.ts) before it reaches an
 * RTCPeerConnection; a refused or failed answer keeps the last good list until it expires.
 */
import type { IceResponse, ServerIceServer } from '../../shared/schemas/ice';

export interface ServerIceOptions {
  fetch(signal: AbortSignal): Promise<IceResponse>;
  /** The list changed (new credentials, or expired ones dropped). */
  onChange(servers: ServerIceServer[]): void;
  onError(error: Error): void;
  now?: () => number;
  timeoutMs?: number;
}

const MIN_REFRESH_MS = 30_000;
const MAX_REFRESH_MS = 6 * 3600_000;
const NO_EXPIRY_REFRESH_MS = 3600_000;
const MAX_RETRY_MS = 10 * 60_000;

export class ServerIce {
  private current: ServerIceServer[] = [];
  private expiresAt: number | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(private readonly opts: ServerIceOptions) {}

  get servers(): ServerIceServer[] {
    return this.current;
  }

  /** One fetch now; resolves when it settled (never rejects) and schedules the next. */
  async refresh(): Promise<void> {
    clearTimeout(this.timer);
    const now = this.opts.now ?? Date.now;
    let next: number;
    try {
      const timeout = AbortSignal.timeout(this.opts.timeoutMs ?? 5000);
      const res = await this.opts.fetch(AbortSignal.any([timeout, this.abort.signal]));
      if (this.stopped) return;
      this.failures = 0;
      this.expiresAt = res.expiresAt === null ? null : Date.parse(res.expiresAt);
      this.set(res.iceServers);
      next = this.expiresAt === null ? NO_EXPIRY_REFRESH_MS : clamp((this.expiresAt - now()) / 2, MIN_REFRESH_MS, MAX_REFRESH_MS);
    } catch (err) {
      if (this.stopped) return;
      this.failures++;
      this.opts.onError(err as Error);
      if (this.expiresAt !== null && this.expiresAt <= now()) this.set([]);
      next = Math.min(MIN_REFRESH_MS * 2 ** (this.failures - 1), MAX_RETRY_MS);
    }
    this.timer = setTimeout(() => void this.refresh(), next);
    this.timer.unref?.();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
  }

  private set(servers: ServerIceServer[]): void {
    if (JSON.stringify(servers) === JSON.stringify(this.current)) return;
    this.current = servers;
    this.opts.onChange(servers);
  }
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}
