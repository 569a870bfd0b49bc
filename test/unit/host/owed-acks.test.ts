import { describe, expect, it } from 'vitest';
import { OwedAcks } from '../../../src/main/host/owed-acks';

const ids = (tag: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${tag}-${i}`);

describe('owed ACKs list', () => {
  it('keeps at most maxPerPeer per sender, dropping that sender\'s oldest', () => {
    const owed = new OwedAcks({ maxPerPeer: 5, maxTotal: 100, ttlMs: 1e9 });
    for (const id of ids('m', 12)) owed.add('mallory', id);
    expect(owed.take('mallory')).toEqual(ids('m', 12).slice(7));
    expect(owed.stats()).toMatchObject({ size: 0, evicted: 7 });
  });

  it('past the total cap a flood pushes out its own entries, never another sender\'s', () => {
    const owed = new OwedAcks({ maxPerPeer: 60, maxTotal: 100, ttlMs: 1e9 });
    for (const id of ids('a', 20)) owed.add('alice', id);
    for (const id of ids('m', 1000)) owed.add('mallory', id);
    for (const id of ids('n', 1000)) owed.add('nigel', id);
    expect(owed.stats().size).toBeLessThanOrEqual(100);
    expect(owed.take('alice')).toEqual(ids('a', 20));
    const left = owed.take('mallory').length + owed.take('nigel').length;
    expect(left).toBe(80);
  });

  it('an id owed twice is owed once; settle removes exactly what was ACKed', () => {
    const owed = new OwedAcks({ maxPerPeer: 10, maxTotal: 10, ttlMs: 1e9 });
    owed.add('alice', 'x');
    owed.add('alice', 'x');
    owed.add('alice', 'y');
    owed.settle('alice', ['x', 'z']);
    expect(owed.stats().size).toBe(1);
    expect(owed.take('alice')).toEqual(['y']);
  });

  it('entries older than ttlMs expire (on take, add and sweep)', () => {
    let now = 1_000;
    const owed = new OwedAcks({ maxPerPeer: 10, maxTotal: 10, ttlMs: 500 }, () => now);
    owed.add('alice', 'old');
    owed.add('bob', 'old-b');
    now = 1_400;
    owed.add('alice', 'new');
    now = 1_600;
    expect(owed.take('alice')).toEqual(['new']);
    owed.sweep();
    expect(owed.stats()).toMatchObject({ size: 0, peers: 0, expired: 2 });
  });
});
