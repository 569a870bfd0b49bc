import { describe, expect, it } from 'vitest';
import { KeyedBuckets } from '../../../src/shared/rate-limit/keyed-buckets';
import { TokenBucket } from '../../../src/shared/rate-limit/token-bucket';

describe('TokenBucket', () => {
  it('gives the burst back to back, then one token per 1/perSecond', () => {
    const b = new TokenBucket({ burst: 3, perSecond: 2 }, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.waitMs(0)).toBe(500);
    expect(b.take(499)).toBe(false);
    expect(b.take(500)).toBe(true);
    expect(b.isFull(500)).toBe(false);
    expect(b.isFull(2_000)).toBe(true);
  });

  it('a clock that goes backwards neither refills nor throws', () => {
    const b = new TokenBucket({ burst: 1, perSecond: 1 }, 10_000);
    expect(b.take(10_000)).toBe(true);
    expect(b.take(0)).toBe(false);
    expect(b.take(10_999)).toBe(false);
    expect(b.take(11_000)).toBe(true);
  });
});

describe('KeyedBuckets', () => {
  it('keeps one bucket per key: one key flooding does not cost another', () => {
    const k = new KeyedBuckets({ burst: 2, perSecond: 1 });
    expect([k.take('mallory', 0), k.take('mallory', 0), k.take('mallory', 0)]).toEqual([true, true, false]);
    expect(k.take('alice', 0)).toBe(true);
    expect(k.waitMs('mallory', 0)).toBe(1000);
    expect(k.waitMs('never-seen', 0)).toBe(0);
  });

  it('a flood of fresh keys never grows the table past its cap', () => {
    const k = new KeyedBuckets({ burst: 1, perSecond: 0.001 }, 1_000);
    for (let i = 0; i < 50_000; i++) k.take(`sybil-${i}`, 1);
    expect(k.size).toBeLessThanOrEqual(1_000);
  });

  it('when full, keys whose bucket has refilled are forgotten before a key still in debt', () => {
    const k = new KeyedBuckets({ burst: 1, perSecond: 1 }, 10);
    for (let i = 0; i < 9; i++) k.take(`idle-${i}`, 0); // refilled by t=1000
    k.take('debtor', 900); // in debt until t=1900
    k.take('newcomer', 1_000);
    expect(k.size).toBe(2);
    expect(k.take('debtor', 1_000)).toBe(false);
  });
});
