/** PARLEY_RELAY_LIMITS: a JSON object with any of RelayLimits' fields (tests and operators tune the relay's caps). */
import { z } from 'zod';
import type { RelayLimits } from './relay-server';

const zPositive = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const zRelayLimits = z.strictObject({
  maxPairs: zPositive, maxPairsPerPeer: zPositive, pairBytesPerSec: zPositive, pairBurstBytes: zPositive,
  totalBytesPerSec: zPositive, totalBurstBytes: zPositive, maxBufferedBytes: zPositive, answerTimeoutMs: zPositive, idleMs: zPositive,
}).partial();

export function relayLimitsFromEnv(raw = process.env.PARLEY_RELAY_LIMITS): Partial<RelayLimits> | undefined {
  if (!raw) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error('PARLEY_RELAY_LIMITS is not JSON');
  }
  const parsed = zRelayLimits.safeParse(json);
  if (!parsed.success) throw new Error(`PARLEY_RELAY_LIMITS: ${parsed.error.issues[0]?.message ?? 'not valid'}`);
  return parsed.data;
}
