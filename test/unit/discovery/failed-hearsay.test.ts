import { describe, expect, it } from 'vitest';
import { DISTRUST_MS, FailedHearsay } from '../../../src/main/host/discovery/failed-hearsay';

describe('FailedHearsay', () => {
  it('distrusts the address and the peer that named a failed route, for that person only, until it ages out', () => {
    let now = 1_000_000;
    const h = new FailedHearsay(() => now);
    h.failed('carol', { signalAddr: 'ws://s/evil', via: 'mallory' });
    expect(h.distrusted('carol', 'ws://s/evil', 'bob')).toBe(true);
    expect(h.distrusted('carol', 'ws://s/other', 'mallory')).toBe(true);
    expect(h.distrusted('carol', 'ws://s/carol', 'bob')).toBe(false);
    expect(h.distrusted('dave', 'ws://s/evil', 'mallory')).toBe(false);
    now += DISTRUST_MS + 1;
    expect(h.distrusted('carol', 'ws://s/evil', 'mallory')).toBe(false);
  });

  it('stays bounded under a flood of failures', () => {
    const h = new FailedHearsay(() => 0);
    for (let i = 0; i < 5000; i++) h.failed(`target-${i}`, { signalAddr: `ws://s/${i}`, via: `p${i}` });
    for (let i = 0; i < 100; i++) h.failed('carol', { signalAddr: `ws://s/c${i}`, via: `q${i}` });
    const size = (h as unknown as { byTarget: Map<string, Map<string, number>> }).byTarget;
    expect(size.size).toBeLessThanOrEqual(1024);
    expect(size.get('carol')!.size).toBeLessThanOrEqual(16);
    // The newest entries are the ones kept.
    expect(h.distrusted('carol', 'ws://s/c99', 'nobody')).toBe(true);
    expect(h.distrusted('carol', 'ws://s/c0', 'nobody')).toBe(false);
  });
});
