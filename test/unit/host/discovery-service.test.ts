/**
 * DiscoveryService.report() while a relay carries a contact's frames: the trace the user sees
 * reads connected through the relay whatever the direct attempt did, while the route book still
 * learns that the direct route failed (so discovery does not keep trying a cached dead route).
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiscoveryService } from '../../../src/main/host/discovery/discovery-service';
import type { PeerFinder } from '../../../src/main/host/discovery/peer-finder';
import { RouteBook } from '../../../src/main/host/discovery/route-book';
import type { MeshLike } from '../../../src/main/host/transport';
import type { SignalRouter } from '../../../src/main/signaling/signal-router';
import { openStore, type Store } from '../../../src/main/store';
import type { RouteTrace } from '../../../src/shared/discovery';
import { makeTempDir } from '../store/helpers';

const bob = 'b'.repeat(43);
const carol = 'c'.repeat(43);

let tmp: ReturnType<typeof makeTempDir>;
let store: Store;
let relayVia: string | undefined;
let shown: RouteTrace[];
let service: DiscoveryService;

beforeEach(() => {
  tmp = makeTempDir();
  store = openStore(join(tmp.dir, 'parley.db'));
  relayVia = undefined;
  shown = [];
  service = new DiscoveryService({
    mesh: () => ({}) as MeshLike,
    router: { routeOf: () => undefined } as unknown as SignalRouter,
    routes: new RouteBook(store),
    finder: {} as PeerFinder,
    registry: () => null,
    store,
    presence: () => 'offline',
    onTrace: (t) => shown.push(t),
    relayOf: () => relayVia,
  });
});
afterEach(() => {
  store.close();
  tmp.cleanup();
});

const trace = (result: RouteTrace['result']): RouteTrace => ({
  userId: bob, startedAt: Date.now(), steps: [], winner: 'cache', route: { signalAddr: 'wss://signal.example/ws', via: 'cached' }, result,
});

describe('a direct attempt reported while a relay carries the frames', () => {
  it('reads connected via the relay, and the route book records the direct failure', () => {
    service.report(trace('connected'));
    expect(new RouteBook(store).cached(bob)?.signalAddr).toBe('wss://signal.example/ws');

    relayVia = carol;
    service.report(trace('failed'));
    const last = service.lastTrace(bob);
    expect(last).toMatchObject({ result: 'connected', path: 'relay', relayVia: carol });
    expect(shown.at(-1)).toEqual(last);
    expect(store.getRoutes(bob).find((r) => r.path === 'direct')?.lastFail).not.toBeNull();
    expect(new RouteBook(store).cached(bob)).toBeUndefined();
  });

  it('without a relay, a failure reads failed and direct', () => {
    service.report(trace('failed'));
    expect(service.lastTrace(bob)).toMatchObject({ result: 'failed' });
    expect(service.lastTrace(bob)?.path).toBeUndefined();
  });

  it('a direct attempt that connects is shown as it is, even while a relay is still up', () => {
    relayVia = carol;
    service.report(trace('connected'));
    expect(service.lastTrace(bob)).toMatchObject({ result: 'connected' });
    expect(service.lastTrace(bob)?.path).toBeUndefined();
    expect(new RouteBook(store).cached(bob)?.signalAddr).toBe('wss://signal.example/ws');
  });
});
