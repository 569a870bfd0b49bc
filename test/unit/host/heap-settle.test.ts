import { constants, PerformanceObserver } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { exposeCollector, HeapSettler, SETTLE_GAP_MS, type Collect } from '../../../src/main/host/heap-settle';

const nextTurn = () => new Promise((r) => setImmediate(r));

describe('HeapSettler', () => {
  it('reaches V8’s collector without giving the global scope a gc()', async () => {
    const collect = exposeCollector();
    expect(collect).toBeTypeOf('function');
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    const minors: number[] = [];
    const seen = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minors.push(e.startTime);
    });
    seen.observe({ entryTypes: ['gc'] });
    const settler = new HeapSettler({ collect });
    settler.soon();
    expect(settler.settled).toBe(0); // not in the caller's turn
    await nextTurn();
    // gc entries are delivered asynchronously: wait for them a while on a loaded machine.
    for (let waited = 0; minors.length < 2 && waited < 2_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    seen.disconnect();
    expect(settler.settled).toBe(1);
    expect(minors.length).toBeGreaterThanOrEqual(2);
  });

  it('runs two minor collections per settle, one settle per burst, and again after the gap', async () => {
    const calls: string[] = [];
    const collect: Collect = ({ type }) => void calls.push(type);
    let now = 0;
    const settler = new HeapSettler({ collect, now: () => now });
    settler.soon();
    settler.soon(); // the same turn: already pending
    await nextTurn();
    expect(calls).toEqual(['minor', 'minor']);
    now += SETTLE_GAP_MS - 1;
    settler.soon(); // too soon after the last
    await nextTurn();
    expect(calls).toHaveLength(2);
    now += 1;
    settler.soon();
    await nextTurn();
    expect(calls).toHaveLength(4);
    expect(settler.settled).toBe(2);
  });

  it('does nothing where the collector cannot be reached', async () => {
    const settler = new HeapSettler({ collect: null });
    settler.soon();
    await nextTurn();
    expect(settler.settled).toBe(0);
  });
});
