/**
 * The discovery chain inside the mesh, on real @roamhq/wrtc: step order, first answer wins, a
 * step that overruns is cut off and recorded, nothing found ends in STORE_AND_FORWARD, and the
 * trace follows the attempt to CONNECTED or failure.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { HostLookup, HostStepName, RouteHint, RouteTrace } from '../../../src/shared/discovery';
import { runChain, type DiscoveryHost } from '../../../src/renderer/mesh';
import { MemorySignalingBus } from '../../../src/renderer/mesh/memory-signaling';
import { ALICE, BOB, type TestPeer, connected, startPeer, stopPeer, waitFor } from './harness';

class FakeHost implements DiscoveryHost {
  readonly asked: HostStepName[] = [];
  readonly used: RouteHint[] = [];
  readonly traces: RouteTrace[] = [];
  constructor(private readonly answers: Partial<Record<HostStepName, RouteHint | 'hang' | 'throw'>>) {}
  async lookup(_userId: string, step: HostStepName): Promise<HostLookup> {
    this.asked.push(step);
    const a = this.answers[step];
    if (a === 'hang') return new Promise(() => undefined);
    if (a === 'throw') throw new Error('registry unreachable');
    return { route: a ?? null };
  }
  async useRoute(_userId: string, route: RouteHint): Promise<void> {
    this.used.push(route);
  }
  report(trace: RouteTrace): void {
    this.traces.push(trace);
  }
}

let bus: MemorySignalingBus;
let peers: TestPeer[] = [];
afterEach(() => {
  for (const p of peers) stopPeer(bus, p);
  peers = [];
});

describe('discovery chain runner', () => {
  it('asks the steps in seed-004 order and stops at the first answer', async () => {
    const host = new FakeHost({ peers: { signalAddr: 'ws://127.0.0.1:1/dev-c', via: BOB } });
    const trace = await runChain(ALICE, { host });
    expect(host.asked).toEqual(['active', 'cache', 'peers']);
    expect(trace.winner).toBe('peers');
    expect(trace.route?.signalAddr).toBe('ws://127.0.0.1:1/dev-c');
    expect(trace.steps.map((s) => [s.step, s.outcome])).toEqual([['active', 'none'], ['cache', 'none'], ['peers', 'found']]);
    expect(trace.steps.map((s) => s.budgetMs)).toEqual([0, 5, 50]);
    expect(trace.result).toBe('connecting');
  });

  it('cuts off a hanging step, records errors, and ends in store and forward', async () => {
    const host = new FakeHost({ peers: 'hang', registry: 'throw' });
    const trace = await runChain(ALICE, { host, slack: 1, graceMs: 20 });
    expect(trace.steps.map((s) => [s.step, s.outcome])).toEqual([
      ['active', 'none'], ['cache', 'none'], ['peers', 'timeout'], ['coordinators', 'none'], ['registry', 'error'], ['store', 'found'],
    ]);
    expect(trace.steps[4]?.detail).toContain('registry unreachable');
    expect(trace.winner).toBe('store');
    expect(trace.result).toBe('stored');
    expect(trace.route).toBeNull();
  });

  it('times each step on the monotonic clock it is given, kept to 0.01 ms', async () => {
    const host = new FakeHost({ registry: { signalAddr: 'ws://127.0.0.1:1/dev-c' } });
    // Two readings per step (before, after): active 0.004 ms, cache 1.23456 ms, peers 7.5 ms, coordinators 0, registry 42.125 ms.
    const readings = [0, 0.004, 10, 11.23456, 20, 27.5, 30, 30, 40, 82.125];
    let i = 0;
    const trace = await runChain(ALICE, { host, clock: () => readings[i++] ?? 1_000 });
    expect(trace.steps.map((s) => [s.step, s.ms])).toEqual([['active', 0], ['cache', 1.23], ['peers', 7.5], ['coordinators', 0], ['registry', 42.13]]);
    expect(trace.winner).toBe('registry');
    expect(Number.isInteger(trace.startedAt)).toBe(true);
  });

  it('takes a synchronous answer from lookupNow without calling lookup, and copies how a peer step ended', async () => {
    const asked: string[] = [];
    const host: DiscoveryHost = {
      lookupNow: (_u, step) => (step === 'active' || step === 'cache' ? null : undefined),
      lookup: (_u, step) => {
        asked.push(step);
        return Promise.resolve(step === 'peers' ? { route: null, reason: 'not-found', asked: 3, answers: 3 } : { route: null, reason: 'no-peers', asked: 0, answers: 0 });
      },
      useRoute: () => Promise.resolve(),
      report: () => undefined,
    };
    const trace = await runChain(ALICE, { host });
    expect(asked).toEqual(['peers', 'coordinators', 'registry']);
    expect(trace.steps.map((s) => [s.step, s.outcome])).toEqual([
      ['active', 'none'], ['cache', 'none'], ['peers', 'none'], ['coordinators', 'none'], ['registry', 'none'], ['store', 'found'],
    ]);
    expect(trace.steps[2]).toMatchObject({ reason: 'not-found', asked: 3, answers: 3 });
    expect(trace.steps[0]?.reason).toBeUndefined();
    // Answered synchronously: no wait, so nothing could run beside them.
    expect(trace.steps.filter((s) => s.concurrent !== undefined).map((s) => s.step)).toEqual(['peers', 'coordinators', 'registry']);
    expect(trace.steps[2]?.concurrent).toBe(0);
    for (const s of trace.steps) expect(Math.round(s.ms * 100) / 100).toBe(s.ms);
  });

  it('counts the other chains that ran while a step waited', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slow: DiscoveryHost = {
      lookup: async (_u, step) => {
        if (step === 'peers') await gate;
        return { route: null };
      },
      useRoute: () => Promise.resolve(),
      report: () => undefined,
    };
    const first = runChain(ALICE, { host: slow });
    await new Promise((r) => setTimeout(r, 5));
    // Two more chains start and finish while the first one's peers step waits.
    await runChain(BOB, { host: { ...slow, lookup: () => Promise.resolve({ route: null }) } });
    await runChain(BOB, { host: { ...slow, lookup: () => Promise.resolve({ route: null }) } });
    release();
    const trace = await first;
    expect(trace.steps.find((s) => s.step === 'peers')?.concurrent).toBe(2);
    expect(trace.steps.find((s) => s.step === 'registry')?.concurrent).toBe(0);
  });
});

describe('mesh with discovery', () => {
  it('DISCOVERING, then signals over the route found, and reports the attempt as connected', async () => {
    bus = new MemorySignalingBus();
    const host = new FakeHost({ cache: { signalAddr: 'ws://127.0.0.1:9/dev-b' } });
    const a = startPeer(bus, ALICE, { discovery: { host } });
    const b = startPeer(bus, BOB);
    peers = [a, b];
    a.mesh.connect(BOB);
    expect(a.mesh.state(BOB)).toBe('DISCOVERING');
    await waitFor('connected', () => connected(a, b));
    expect(host.used).toEqual([{ signalAddr: 'ws://127.0.0.1:9/dev-b' }]);
    expect(a.states.map((s) => s.state).filter((s) => s !== 'CONNECTING')).toEqual(['DISCOVERING', 'SIGNALING', 'CONNECTED']);
    await waitFor('connected trace', () => host.traces.some((t) => t.result === 'connected'));
    const last = host.traces.at(-1)!;
    expect(last.winner).toBe('cache');
    expect(last.connectMs).toBeGreaterThanOrEqual(0);
    expect(a.mesh.lastTrace(BOB)?.result).toBe('connected');
  });

  it('nobody knows a path: FAILED then STORE_AND_FORWARD, and retry() runs the chain again', async () => {
    bus = new MemorySignalingBus();
    const host = new FakeHost({});
    const a = startPeer(bus, ALICE, { discovery: { host, slack: 1, graceMs: 5 } });
    const b = startPeer(bus, BOB);
    peers = [a, b];
    a.mesh.connect(BOB);
    await waitFor('stored', () => a.mesh.state(BOB) === 'STORE_AND_FORWARD');
    expect(a.states.map((s) => s.state)).toEqual(['DISCOVERING', 'FAILED', 'STORE_AND_FORWARD']);
    expect(host.traces.at(-1)?.result).toBe('stored');
    expect(b.mesh.state(ALICE)).toBe('DISCONNECTED');
    const asked = host.asked.length;
    a.mesh.retry(BOB);
    expect(a.mesh.state(BOB)).toBe('DISCOVERING');
    await waitFor('stored again', () => a.mesh.state(BOB) === 'STORE_AND_FORWARD');
    expect(host.asked.length).toBe(asked * 2);
  });

  it("the peer's own offer during discovery wins over the chain run", async () => {
    bus = new MemorySignalingBus();
    const host = new FakeHost({ active: 'hang' });
    const a = startPeer(bus, ALICE, { discovery: { host, slack: 1, graceMs: 5_000 } });
    const b = startPeer(bus, BOB);
    peers = [a, b];
    a.mesh.connect(BOB);
    b.mesh.connect(ALICE);
    await waitFor('connected', () => connected(a, b));
    expect(host.used).toEqual([]);
  });
});
