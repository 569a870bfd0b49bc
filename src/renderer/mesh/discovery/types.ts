/**
 * One interface for every discovery step (the way Trystero has one file per strategy and libp2p
 * one peer-routing contract): a step either names a route to the peer within its time, or passes.
 */
import type { DiscoveryStepName, HostStepName, RouteHint, RouteTrace } from '../../../shared/discovery';

/** The host's half of the chain: steps that need its state are calls of the typed API contract. */
export interface DiscoveryHost {
  /** Runs a host-backed step; null when it knows no route. Must settle within about `timeoutMs`. */
  lookup(userId: string, step: HostStepName, timeoutMs: number): Promise<RouteHint | null>;
  /** Signal this peer over `route` from now on (opens a signal-server connection if needed). */
  useRoute(userId: string, route: RouteHint): Promise<void>;
  /** The attempt's trace, each time its result changes (cache the route, show the panel). */
  report(trace: RouteTrace): void;
}

export interface StepContext {
  host: DiscoveryHost;
  /** Hard cutoff for this step (its seed-004 budget with the configured slack). */
  timeoutMs: number;
}

/** `{store: true}` ends the chain in store and forward: nothing to connect to, messages wait. */
export type StepAnswer = { route: RouteHint } | { store: true } | null;

export interface DiscoveryStep {
  readonly name: DiscoveryStepName;
  readonly budgetMs: number;
  find(userId: string, ctx: StepContext): Promise<StepAnswer>;
}
