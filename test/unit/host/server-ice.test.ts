/**
 * The registry's ICE servers are kept fresh: fetched again halfway to the credentials' expiry,
 * retried with backoff after a failure, and dropped once they have expired with no new ones.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ServerIce } from '../../../src/main/host/server-ice';
import type { IceResponse, ServerIceServer } from '../../../src/shared/schemas/ice';

const turn = (user: string): ServerIceServer => ({ urls: ['turn:198.51.100.7:3478'], username: user, credential: 'c' });

describe('ServerIce', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] }));
  afterEach(() => vi.useRealTimers());

  it('refreshes halfway to expiry, keeps the last good list through failures until it expires, then drops it', async () => {
    const answers: Array<() => IceResponse> = [
      () => ({ iceServers: [turn('a')], expiresAt: new Date(Date.now() + 600_000).toISOString() }),
      () => ({ iceServers: [turn('b')], expiresAt: new Date(Date.now() + 600_000).toISOString() }),
    ];
    let calls = 0;
    const changes: ServerIceServer[][] = [];
    const errors: string[] = [];
    const ice = new ServerIce({
      fetch: async () => {
        const answer = answers[calls++];
        if (!answer) throw new Error('registry down');
        return answer();
      },
      onChange: (s) => changes.push(s),
      onError: (e) => errors.push(e.message),
    });
    await ice.refresh();
    expect(ice.servers).toEqual([turn('a')]);
    await vi.advanceTimersByTimeAsync(299_000);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(2_000); // halfway (300 s) passed: fetched again
    expect(calls).toBe(2);
    expect(ice.servers).toEqual([turn('b')]);
    // From now on the registry fails: retries back off (30 s, 60 s, …) and the list stays until it expires.
    await vi.advanceTimersByTimeAsync(300_000);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(ice.servers).toEqual([turn('b')]);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(ice.servers).toEqual([]);
    expect(changes).toEqual([[turn('a')], [turn('b')], []]);
    const before = calls;
    ice.stop();
    await vi.advanceTimersByTimeAsync(3600_000);
    expect(calls).toBe(before);
  });

  it('without expiry asks again hourly and reports no change when nothing changed', async () => {
    let calls = 0;
    const changes: unknown[] = [];
    const ice = new ServerIce({
      fetch: async () => {
        calls++;
        return { iceServers: [{ urls: ['stun:198.51.100.7:3478'] }], expiresAt: null };
      },
      onChange: (s) => changes.push(s),
      onError: () => undefined,
    });
    await ice.refresh();
    await vi.advanceTimersByTimeAsync(3600_000 + 1000);
    expect(calls).toBe(2);
    expect(changes).toHaveLength(1);
    ice.stop();
  });
});
