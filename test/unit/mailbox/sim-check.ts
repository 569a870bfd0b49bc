import { expect } from 'vitest';
import { runSim, type SimOptions } from './sim';

/**
 * Run `count` seeds starting at `from` (env SIM_FROM / SIM_SEEDS override) and fail with every
 * failing seed and how to replay it.
 */
export function checkSeeds(from: number, count: number, overrides: Partial<SimOptions> = {}): { runs: number; acked: number; reads: number } {
  const start = Number(process.env['SIM_FROM'] ?? from);
  const n = Number(process.env['SIM_SEEDS'] ?? count);
  const failures: string[] = [];
  let acked = 0;
  let reads = 0;
  for (let seed = start; seed < start + n; seed++) {
    const r = runSim(seed, overrides);
    acked += r.stats.acked;
    reads += r.stats.reads;
    if (r.violations.length > 0) {
      failures.push(`seed ${seed}: ${r.violations.slice(0, 3).join(' | ')}\n  replay: npx tsx test/unit/mailbox/sim.ts --seed ${seed} --verbose`);
    }
  }
  if (failures.length > 0) console.error(`simulation failures:\n${failures.join('\n')}`);
  expect(failures, failures.join('\n')).toEqual([]);
  return { runs: n, acked, reads };
}
