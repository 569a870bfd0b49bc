export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
  /** Fraction of the delay added or removed at random: 0.2 → ±20 %. */
  jitter?: number;
  random?: () => number;
}

/** Mesh reconnection: 5 attempts, then FAILED (manual retry). */
export const RECONNECT_SCHEDULE_MS: readonly number[] = [1000, 2000, 4000, 8000, 16000];

/** Delay before retry number `attempt` (0-based): 1, 2, 4, 8, 16, 32, 32 … s, each ± jitter. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { baseMs = 1000, capMs = 32_000, jitter = 0.2, random = Math.random } = options;
  const exponent = Math.max(0, Math.min(Math.floor(attempt), 30));
  const nominal = Math.min(capMs, baseMs * 2 ** exponent);
  const spread = Math.max(0, Math.min(jitter, 1));
  const factor = 1 + spread * (2 * random() - 1);
  return Math.max(0, Math.round(nominal * factor));
}
