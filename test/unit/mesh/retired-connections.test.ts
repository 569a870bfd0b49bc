import { describe, expect, it } from 'vitest';
import { RetiredConnections } from '../../../src/main/host/node-mesh';

describe('RetiredConnections', () => {
  it('keeps closed connections referenced for the retire time, never more than the cap', () => {
    let now = 0;
    const pool = new RetiredConnections(30_000, 3, () => now);
    for (let i = 0; i < 5; i++) pool.add({ i });
    expect(pool.size).toBe(3);
    now = 29_999;
    pool.sweep();
    expect(pool.size).toBe(3);
    pool.add({ late: true });
    now = 30_000;
    pool.sweep();
    expect(pool.size).toBe(1);
    now = 60_000;
    pool.sweep();
    expect(pool.size).toBe(0);
  });
});
