import { describe, expect, it } from 'vitest';
import { backoffDelay, RECONNECT_SCHEDULE_MS } from '../../../src/shared/backoff';
import { RejectCounter } from '../../../src/shared/errors';
import { ReplayGuard } from '../../../src/shared/replay';

describe('backoffDelay', () => {
  it('doubles from 1 s and caps at 32 s without jitter', () => {
    const mid = () => 0.5;
    const delays = Array.from({ length: 9 }, (_, i) => backoffDelay(i, { random: mid }));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 32000, 32000, 32000]);
    expect(RECONNECT_SCHEDULE_MS).toEqual(delays.slice(0, 5));
    expect(backoffDelay(1_000_000, { random: mid })).toBe(32000);
    expect(backoffDelay(-3, { random: mid })).toBe(1000);
  });

  it('stays within ±jitter of the nominal delay and actually varies', () => {
    for (let attempt = 0; attempt < 8; attempt++) {
      const nominal = Math.min(32000, 1000 * 2 ** attempt);
      expect(backoffDelay(attempt, { random: () => 0 })).toBe(Math.round(nominal * 0.8));
      expect(backoffDelay(attempt, { random: () => 0.999999 })).toBeLessThanOrEqual(Math.round(nominal * 1.2));
      const samples = Array.from({ length: 200 }, () => backoffDelay(attempt));
      for (const d of samples) {
        expect(d).toBeGreaterThanOrEqual(Math.floor(nominal * 0.8));
        expect(d).toBeLessThanOrEqual(Math.ceil(nominal * 1.2));
      }
      expect(new Set(samples).size).toBeGreaterThan(10);
    }
    expect(backoffDelay(2, { baseMs: 100, capMs: 250, jitter: 0, random: () => 0 })).toBe(250);
  });
});

describe('ReplayGuard', () => {
  it('reports a second sighting within the window and forgets after it', () => {
    let now = 1_000_000;
    const guard = new ReplayGuard({ windowMs: 10_000, maxEntries: 100, now: () => now });
    expect(guard.seen('a', now)).toBe(false);
    expect(guard.seen('a', now)).toBe(true);
    expect(guard.seen('b', now)).toBe(false);
    now += 9_999;
    expect(guard.seen('a', now)).toBe(true);
    now += 2;
    expect(guard.has('a')).toBe(false);
    expect(guard.seen('a', now)).toBe(false);
    expect(guard.size).toBe(1);
  });

  it('keeps at most maxEntries, forgetting the oldest', () => {
    const guard = new ReplayGuard({ windowMs: 60_000, maxEntries: 3, now: () => 0 });
    for (const id of ['a', 'b', 'c', 'd']) expect(guard.seen(id, 0)).toBe(false);
    expect(guard.size).toBe(3);
    expect(guard.has('a')).toBe(false);
    expect(guard.seen('d', 0)).toBe(true);
  });
});

describe('RejectCounter', () => {
  it('counts, tracks results and reports recent events to a hook', () => {
    const seen: string[] = [];
    const counter = new RejectCounter({ keepRecent: 2, onReject: (e) => seen.push(`${e.source}:${e.code}`) });
    counter.count('SCHEMA', 'bad', 'mqtt');
    counter.count('SCHEMA', 'bad');
    expect(counter.track({ ok: false, code: 'REPLAY', reason: 'again' }, 'dc').ok).toBe(false);
    expect(counter.track({ ok: true, value: 1 }, 'dc').ok).toBe(true);
    expect(counter.total).toBe(3);
    expect(counter.get('SCHEMA')).toBe(2);
    expect(counter.snapshot()).toEqual({ SCHEMA: 2, 'mqtt:SCHEMA': 1, REPLAY: 1, 'dc:REPLAY': 1 });
    expect(counter.recent().map((e) => e.code)).toEqual(['SCHEMA', 'REPLAY']);
    expect(seen).toEqual(['mqtt:SCHEMA', 'undefined:SCHEMA', 'dc:REPLAY']);
  });
});
