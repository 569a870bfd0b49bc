import { describe, expect, it } from 'vitest';
import { checkSeeds } from './sim-check';

describe('raft + mailbox simulation (seeds 1001-2000)', () => {
  it('keeps every safety property under faults', () => {
    const { runs, acked } = checkSeeds(1001, 1000);
    expect(acked).toBeGreaterThan(runs);
  }, 240_000); // CPU-bound; the 2-core machine is shared, so allow for heavy load
});
