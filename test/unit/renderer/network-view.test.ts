/** The network panel's words and rows, and the store slices that feed them live. */
import { describe, expect, it } from 'vitest';
import type { ApiCall, ApiEventName, ApiEvents, NetworkStatus, ParleyApi, RouteTrace } from '../../../src/shared/api';
import { createUiStore } from '../../../src/renderer/state/store';
import { candidatePairWords, foundByWords, pathView, registryWords, serverRows, stepRows } from '../../../src/renderer/state/network';

const BOB = 'b'.repeat(64);

const trace = (over: Partial<RouteTrace> = {}): RouteTrace => ({
  userId: BOB, startedAt: 1000, winner: 'peers', result: 'connected', connectMs: 240,
  route: { signalAddr: 'ws://127.0.0.1:9/dev', via: 'PEER_FOUND from Bob' },
  steps: [
    { step: 'active', ms: 0.4, budgetMs: 0, outcome: 'none' },
    { step: 'cache', ms: 2, budgetMs: 5, outcome: 'none' },
    { step: 'peers', ms: 61, budgetMs: 50, outcome: 'found' },
  ],
  ...over,
});

describe('network panel view', () => {
  it('says the path in words for each state', () => {
    expect(pathView({ state: 'CONNECTED', path: 'direct' })).toEqual({ kind: 'direct', words: expect.stringMatching(/^Direct/) });
    expect(pathView({ state: 'CONNECTED', path: 'relay' }).kind).toBe('relay');
    expect(pathView({ state: 'STORE_AND_FORWARD', path: 'none' }).kind).toBe('stored');
    expect(pathView({ state: 'FAILED', path: 'none' }).words).toContain('Retry');
    expect(pathView(undefined).kind).toBe('none');
  });

  it('lists every chain step in order with time against budget, marks the winner and overruns, and the steps not tried', () => {
    const rows = stepRows(trace());
    expect(rows.map((r) => r.step)).toEqual(['active', 'cache', 'peers', 'coordinators', 'registry', 'store']);
    expect(rows[2]).toMatchObject({ winner: true, overBudget: true, ms: 61, outcome: 'found', text: '61 ms of 50 ms (over budget), found' });
    expect(rows[1]).toMatchObject({ winner: false, overBudget: false, text: '2.00 ms of 5 ms, nothing' });
    // Budgets are whole milliseconds: 0.4 ms is within "0 ms".
    expect(rows[0]).toMatchObject({ overBudget: false, ms: 0, text: '0.40 ms of 0 ms, nothing' });
    expect(rows[4]).toMatchObject({ ms: null, outcome: 'not tried', text: 'not tried (budget 500 ms)' });
    expect(stepRows(undefined).every((r) => r.outcome === 'not tried')).toBe(true);
  });

  it('names the step that found the route, with who told us', () => {
    expect(foundByWords(trace())).toBe('asked connected peers (PEER_FOUND from Bob)');
    expect(foundByWords(trace({ winner: null, result: 'failed', route: null }))).toBe('No step found a route');
    expect(foundByWords(undefined, { foundBy: 'cache' })).toBe('cached route');
    expect(foundByWords(undefined)).toBe('No discovery attempt yet');
    // Connected although our own search ended in store and forward: they called us, said so.
    expect(foundByWords(trace({ winner: 'store', result: 'stored', route: null }), { state: 'CONNECTED' })).toBe('They connected to us (our own last search: store and forward)');
    expect(foundByWords(undefined, { state: 'CONNECTED' })).toBe('They connected to us (we had not searched)');
    expect(foundByWords(trace(), { state: 'CONNECTED' })).toBe('asked connected peers (PEER_FOUND from Bob)');
  });

  it('lists our own signal servers first with their state, and the registry state', () => {
    const net: NetworkStatus = {
      signalServers: [
        { url: 'ws://other:1', kind: 'ws', state: 'connecting', home: false },
        { url: 'mqtt://127.0.0.1:1883', kind: 'mqtt', state: 'connected', home: true },
      ],
      signalAddrs: [], registry: { url: 'http://reg', networkId: 'n1', lastAnnounceOk: null, lastError: 'HTTP 401' },
    };
    expect(serverRows(net).map((r) => [r.url, r.kind, r.words])).toEqual([
      ['mqtt://127.0.0.1:1883', 'MQTT broker', 'attached'],
      ['ws://other:1', 'WebSocket signal server', 'connecting… (opened to reach a contact)'],
    ]);
    expect(registryWords(net)).toContain('last announce failed (HTTP 401)');
    expect(registryWords(null)).toContain('No registry set');
  });

  it('shows a candidate pair only when the peer state has one, whatever its shape', () => {
    expect(candidatePairWords({ state: 'CONNECTED' })).toBeNull();
    expect(candidatePairWords({ candidatePair: { local: { type: 'host', address: '10.0.0.1', port: 5000, protocol: 'udp' }, remote: { candidateType: 'srflx', ip: '1.2.3.4', port: 6 } } }))
      .toBe('host 10.0.0.1:5000 udp ↔ srflx 1.2.3.4:6');
    expect(candidatePairWords({ candidatePair: 'relay ↔ host' })).toBe('relay ↔ host');
    expect(candidatePairWords({ candidatePair: 42 })).toBeNull();
  });
});

describe('store feeds the panel live', () => {
  it('takes network.status on start, then network and route events; route.get fills a contact on demand', async () => {
    const listeners = new Map<string, Array<(p: unknown) => void>>();
    const first: NetworkStatus = { signalServers: [{ url: 'mqtt://b', kind: 'mqtt', state: 'connecting', home: true }], signalAddrs: [], registry: null };
    const stored = trace({ startedAt: 500, winner: 'cache' });
    const api: ParleyApi = {
      call: (async (call: ApiCall) => {
        switch (call) {
          case 'whoami': return { userId: 'a'.repeat(64), deviceId: 'd', name: 'Me' };
          case 'settings.get': return {};
          case 'status': return { signaling: 'connected', brokerUrl: 'mqtt://b', peers: [] };
          case 'contacts.list': return [];
          case 'network.status': return first;
          case 'route.get': return { trace: stored };
          default: throw new Error(call);
        }
      }) as ParleyApi['call'],
      on: (<E extends ApiEventName>(event: E, l: (p: ApiEvents[E]) => void) => {
        listeners.set(event, [...(listeners.get(event) ?? []), l as (p: unknown) => void]);
        return () => {};
      }) as ParleyApi['on'],
    };
    const emit = (e: ApiEventName, p: unknown) => { for (const l of listeners.get(e) ?? []) l(p); };
    const store = createUiStore(api);
    await store.getState().start();
    expect(store.getState().network).toEqual(first);
    emit('network', { ...first, signalServers: [{ ...first.signalServers[0]!, state: 'connected' }] });
    expect(store.getState().network?.signalServers[0]?.state).toBe('connected');
    await store.getState().loadRoute(BOB);
    expect(store.getState().routes[BOB]?.winner).toBe('cache');
    emit('route', trace({ startedAt: 2000 }));
    expect(store.getState().routes[BOB]?.winner).toBe('peers');
    // An older reply must not overwrite a newer event.
    await store.getState().loadRoute(BOB);
    expect(store.getState().routes[BOB]?.startedAt).toBe(2000);
  });
});
