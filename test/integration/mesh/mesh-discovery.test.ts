/**
 * The discovery chain inside the mesh, on real @roamhq/wrtc: step order, first answer wins, a
 * step that overruns is cut off and recorded, nothing found ends in STORE_AND_FORWARD, and the
 * trace follows the attempt to CONNECTED or failure.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { HostStepName, RouteHint, RouteTrace } from '../../../src/shared/discovery';
import { runChain, type DiscoveryHost } from '../../../src/renderer/mesh';
import { MemorySignalingBus } from '../../../src/renderer/mesh/memory-signaling';
import { ALICE, BOB, type TestPeer, connected, startPeer, stopPeer, waitFor } from './harness';

class FakeHost implements DiscoveryHost {
  readonly asked: HostStepName[] = [];
  readonly used: RouteHint[] = [];
  readonly traces: RouteTrace[] = [];
  constructor(private readonly answers: Partial<Record<HostStepName, RouteHint | 'hang' | 'throw'>>) {}
  async lookup(_userId: string, step: HostStepName): Promise<RouteHint | null> {
    this.asked.push(step);
    const a = this.answers[step];
    if (a === 'hang') return new Promise(() => undefined);
    if (a === 'throw') throw new Error('registry unreachable');
    return a ?? null;
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
