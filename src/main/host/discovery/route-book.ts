/**
 * The peer_routes cache (discovery step 2): where a peer was last reached. A route that worked is
 * kept with its time; one that failed since it last worked is skipped, and routes that have not
 * worked for ROUTE_TTL_MS are deleted.
 */
import type { Store } from '../../store/types';

export const ROUTE_TTL_MS = 7 * 24 * 3600_000;

export class RouteBook {
  constructor(private readonly store: Store, private readonly now: () => number = Date.now) {}

  /** The freshest working route's signalAddr (null = the shared broker), or undefined. */
  cached(userId: string): { signalAddr: string | null; lastOk: number } | undefined {
    const cutoff = this.now() - ROUTE_TTL_MS;
    for (const r of this.store.getRoutes(userId)) {
      if (r.path !== 'direct' || r.lastOk === null || r.lastOk < cutoff) continue;
      if (r.lastFail !== null && r.lastFail >= r.lastOk) continue;
      return { signalAddr: r.signalAddr, lastOk: r.lastOk };
    }
    return undefined;
  }

  worked(userId: string, signalAddr: string | null): void {
    this.store.recordRouteSuccess(userId, 'direct', { signalAddr });
  }

  failed(userId: string): void {
    this.store.recordRouteFailure(userId, 'direct');
  }

  ageOut(): number {
    return this.store.pruneRoutes(this.now() - ROUTE_TTL_MS);
  }
}
