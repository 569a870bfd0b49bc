/**
 * The host's half of the discovery chain: answers the host-backed steps (the mesh runs the
 * chain, DESIGN section 6), switches the peer's signaling to the route found, caches routes that
 * worked and keeps each contact's last attempt for the network panel and the `route` op.
 */
import type { HostLookup, HostStepName, RouteHint, RouteTrace } from '../../../shared/discovery';
import type { Presence } from '../../../shared/api';
import type { SignalRouter } from '../../signaling/signal-router';
import type { Store } from '../../store/types';
import { HostCallError } from '../contacts';
import type { MeshLike } from '../transport';
import type { PeerFinder } from './peer-finder';
import type { RegistryLink } from './registry-link';
import type { RouteBook } from './route-book';
import { FailedHearsay } from './failed-hearsay';

const MAX_TRACES = 1024;

export interface DiscoveryServiceDeps {
  mesh: () => MeshLike;
  router: SignalRouter;
  routes: RouteBook;
  finder: PeerFinder;
  registry: () => RegistryLink | null;
  store: Store;
  presence: (userId: string) => Presence;
  onTrace: (trace: RouteTrace) => void;
  /** The contact relaying for this peer now, if any: a direct attempt that has not connected then reads connected, path 'relay'. */
  relayOf?: (userId: string) => string | undefined;
}

export class DiscoveryService {
  private readonly traces = new Map<string, RouteTrace>();
  private readonly hearsay = new FailedHearsay();

  constructor(private readonly deps: DiscoveryServiceDeps) {}

  lastTrace(userId: string): RouteTrace | null {
    return this.traces.get(userId) ?? null;
  }

  /** A host-backed step's route (null: none known). */
  async lookup(userId: string, step: HostStepName, timeoutMs: number): Promise<RouteHint | null> {
    return (await this.find(userId, step, timeoutMs)).route;
  }

  /** A host-backed step's route and, for the steps that ask peers, how the asking went. */
  async find(userId: string, step: HostStepName, timeoutMs: number): Promise<HostLookup> {
    const now = this.lookupNow(userId, step);
    if (now !== undefined) return { route: now };
    switch (step) {
      case 'peers': return this.deps.finder.find(userId, timeoutMs, (addr, from) => this.believable(addr, from, userId));
      case 'coordinators': return this.coordinators(userId, timeoutMs);
      case 'registry': return { route: await this.fromRegistry(userId, timeoutMs) };
      default: return { route: null };
    }
  }

  /** Steps answered from this process's state, synchronously (the connections map, the route cache); undefined for the others. */
  lookupNow(userId: string, step: HostStepName): RouteHint | null | undefined {
    switch (step) {
      case 'active': return this.active(userId);
      case 'cache': return this.cached(userId);
      default: return undefined;
    }
  }

  async useRoute(userId: string, route: RouteHint): Promise<void> {
    const used = await this.deps.router.useRoute(userId, route.signalAddr);
    if (!used.ok) throw new HostCallError('ROUTE_UNUSABLE', used.reason);
  }

  /**
   * A chain's outcome. While a relay carries the frames, a direct attempt that has not connected
   * reads connected through the relay (the user is connected; which note came last must not
   * matter), but the route book and the hearsay still learn what the direct attempt did.
   */
  report(reported: RouteTrace): void {
    const via = reported.result !== 'connected' ? this.deps.relayOf?.(reported.userId) : undefined;
    this.keep(via ? { ...reported, result: 'connected', path: 'relay', relayVia: via } : reported);
    if (reported.route && reported.result === 'connected') this.deps.routes.worked(reported.userId, this.deps.router.routeOf(reported.userId) ?? reported.route.signalAddr);
    if (reported.route && reported.result === 'failed') {
      this.deps.routes.failed(reported.userId);
      if (reported.winner === 'peers' || reported.winner === 'coordinators') this.hearsay.failed(reported.userId, reported.route);
    }
  }

  /** A trace the host made itself (a relay took over): kept and shown, but no signaling route to cache. */
  note(trace: RouteTrace): void {
    this.keep(trace);
  }

  private keep(trace: RouteTrace): void {
    this.traces.delete(trace.userId);
    this.traces.set(trace.userId, trace);
    if (this.traces.size > MAX_TRACES) this.traces.delete(this.traces.keys().next().value as string);
    this.deps.onTrace(trace);
  }

  /** Step 1: an open channel, or the peer online on the broker we share (its presence says so). */
  private active(userId: string): RouteHint | null {
    if (this.deps.mesh().state(userId) === 'CONNECTED') return { signalAddr: this.deps.router.routeOf(userId) ?? null, via: 'open data channel' };
    const mqtt = this.deps.router.mqtt;
    if (mqtt && mqtt.connectionState === 'connected' && this.deps.presence(userId) !== 'offline') return { signalAddr: null, via: 'broker presence' };
    return null;
  }

  private cached(userId: string): RouteHint | null {
    const hit = this.deps.routes.cached(userId);
    if (!hit) return null;
    if (!this.deps.router.resolve(hit.signalAddr, userId).ok) return null;
    return { signalAddr: hit.signalAddr, via: `cached ${new Date(hit.lastOk).toISOString()}` };
  }

  /** Step 4: the coordinators we know and have a channel to (NETWORK_STATE, registry) are asked with more time. */
  private async coordinators(userId: string, timeoutMs: number): Promise<HostLookup> {
    const known = this.deps.store.listCoordinators().map((c) => c.userId);
    const open = known.filter((u) => u !== userId && this.deps.mesh().state(u) === 'CONNECTED').slice(0, 16);
    if (open.length === 0) return { route: null, reason: 'no-peers', asked: 0, answers: 0 };
    return this.deps.finder.find(userId, timeoutMs, (addr, from) => this.believable(addr, from, userId), open);
  }

  private async fromRegistry(userId: string, timeoutMs: number): Promise<RouteHint | null> {
    const registry = this.deps.registry();
    if (!registry) return null;
    const found = await registry.lookup(userId, timeoutMs);
    const now = Date.now();
    for (const c of found.coordinators.slice(0, 16)) this.deps.store.upsertCoordinator({ userId: c, canStore: false, lastSeen: now });
    const addr = found.signalAddrs.find((a) => this.usable(a, userId));
    return addr ? { signalAddr: addr, via: registry.url } : null;
  }

  /** A PEER_FOUND is hearsay: usable, and not from a peer (or naming a place) that misled us recently. */
  private believable(addr: string, from: string, userId: string): boolean {
    return this.usable(addr, userId) && !this.hearsay.distrusted(userId, addr, from);
  }

  private usable(addr: string, userId: string): boolean {
    return this.deps.router.resolve(addr, userId).ok;
  }
}
