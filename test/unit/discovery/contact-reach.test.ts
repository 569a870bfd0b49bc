import { describe, expect, it, vi } from 'vitest';
import { ContactReach, LOOKUP_EVERY_MS, MAX_LOOKUPS } from '../../../src/main/host/discovery/contact-reach';
import type { HostStepName, RouteHint } from '../../../src/shared/discovery';

function setup(answers: Partial<Record<HostStepName, RouteHint | null | 'hang'>>, wsRoute = false) {
  const sent: string[] = [];
  const notified: string[] = [];
  let now = 0;
  const asked: HostStepName[] = [];
  const reach = new ContactReach({
    router: {
      send: (to, type) => { sent.push(`${type}:${to}`); return true; },
      notifyAt: (to, addr, type) => { notified.push(`${type}:${to}@${addr}`); return true; },
      hasWsRoute: () => wsRoute,
    },
    lookup: async (_u, step) => {
      asked.push(step);
      const a = answers[step];
      return a === 'hang' ? new Promise(() => undefined) : a ?? null;
    },
    now: () => now,
  });
  return { reach, sent, notified, asked, advance: (ms: number) => (now += ms) };
}
const flush = () => new Promise((r) => setTimeout(r, 0));

describe('ContactReach', () => {
  it('sends over the broker and to every distinct WebSocket address the peers and the registry give', async () => {
    const t = setup({ peers: { signalAddr: 'ws://s1/x', via: 'mallory' }, registry: { signalAddr: 'ws://s2/carol' } });
    t.reach.send('carol', 'contactRequest', { name: 'alice', deviceId: 'dev-a' });
    await flush();
    expect(t.sent).toEqual(['contactRequest:carol']);
    expect(t.notified).toEqual(['contactRequest:carol@ws://s1/x', 'contactRequest:carol@ws://s2/carol']);
  });

  it('no lookup when a WebSocket route is known; broker addresses are not WebSocket addresses', async () => {
    const known = setup({ registry: { signalAddr: 'ws://s2/carol' } }, true);
    known.reach.send('carol', 'contactResponse', { accept: true, name: 'alice' });
    await flush();
    expect(known.asked).toEqual([]);
    const mqtt = setup({ peers: { signalAddr: 'mqtt://b:1883/carol' }, registry: null });
    mqtt.reach.send('carol', 'contactRequest', { name: 'alice', deviceId: 'dev-a' });
    await flush();
    expect(mqtt.notified).toEqual([]);
  });

  it('looks a person up at most once per interval, and at most MAX_LOOKUPS at once', async () => {
    const t = setup({ peers: 'hang', registry: 'hang' });
    t.reach.send('carol', 'contactRequest', { name: 'alice', deviceId: 'dev-a' });
    t.reach.send('carol', 'contactRequest', { name: 'alice', deviceId: 'dev-a' });
    expect(t.reach.counters).toMatchObject({ lookups: 1, skipped: 1 });
    for (let i = 0; i < MAX_LOOKUPS * 2; i++) t.reach.send(`u${i}`, 'contactRequest', { name: 'alice', deviceId: 'dev-a' });
    expect(t.reach.counters.lookups).toBe(MAX_LOOKUPS);
    t.advance(LOOKUP_EVERY_MS + 1);
    t.reach.send('carol', 'contactRequest', { name: 'alice', deviceId: 'dev-a' });
    expect(t.reach.counters.lookups).toBe(MAX_LOOKUPS); // still full: the hanging lookups hold their slots until cut off
  });

  it('a lookup that never settles gives its slot back once cut off', async () => {
    vi.useFakeTimers();
    try {
      const t = setup({ peers: 'hang', registry: 'hang' });
      for (let i = 0; i < MAX_LOOKUPS; i++) t.reach.send(`u${i}`, 'contactRequest', { name: 'alice', deviceId: 'dev-a' });
      t.reach.send('late', 'contactRequest', { name: 'alice', deviceId: 'dev-a' });
      expect(t.reach.counters.lookups).toBe(MAX_LOOKUPS);
      await vi.advanceTimersByTimeAsync(10_000);
      t.reach.send('late', 'contactRequest', { name: 'alice', deviceId: 'dev-a' });
      expect(t.reach.counters.lookups).toBe(MAX_LOOKUPS + 1);
    } finally {
      vi.useRealTimers();
    }
  });
});
