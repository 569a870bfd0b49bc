import { describe, expect, it } from 'vitest';
import { runSim } from './sim';
import { checkSeeds } from './sim-check';

// Seeds 1-1000 (sim-2.test.ts runs 1001-2000 in parallel). Each seed: 250 ticks of loss, duplication,
// reordering, partitions, crashes/restarts and (some seeds) membership changes, then healing.
describe('raft + mailbox simulation (seeds 1-1000)', () => {
  it('keeps every safety property under faults', () => {
    const { runs, acked, reads } = checkSeeds(1, 1000);
    expect(runs).toBeGreaterThan(0);
    expect(acked).toBeGreaterThan(runs); // the runs do real work
    expect(reads).toBeGreaterThan(runs);
  }, 240_000); // CPU-bound; the 2-core machine is shared, so allow for heavy load

  it('is deterministic: a seed replays exactly', () => {
    expect(JSON.stringify(runSim(4242))).toBe(JSON.stringify(runSim(4242)));
  });

  it('its checks catch a host that forgets its vote on restart', () => {
    let caught = 0;
    for (let seed = 1; seed <= 300 && caught === 0; seed++) {
      const r = runSim(seed, { hostBug: 'forget-vote', crashAfterVote: 0.5, preVote: false });
      if (r.violations.some((v) => v.includes('election safety') || v.includes('safety'))) caught++;
    }
    expect(caught).toBeGreaterThan(0);
  }, 120_000);
});
