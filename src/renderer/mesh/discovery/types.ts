/**
 * One interface for every discovery step (the way Trystero has one file per strategy and libp2p
 * one peer-routing contract): a step either names a route to the peer within its time, or passes.
 */
import type { DiscoveryStepName, HostLookup, HostStepName, RouteHint, RouteTrace, StepReason } from '../../../shared/discovery';

/** The host's half of the chain: steps that need its state are calls of the typed API contract. */
export interface DiscoveryHost {
  /**
   * Runs a host-backed step: the route (null when it knows none) and, for steps that ask peers,
   * why it ended. Must settle within about `timeoutMs`.
   */
  lookup(userId: string, step: HostStepName, timeoutMs: number): Promise<HostLookup>;
  /**
   * The same answer at once, for a step whose state the host holds in this process (the headless
   * peer's active connections and route cache): no promise, no turn of the event loop. Undefined
   * when this step needs `lookup` (another process, the network).
   */
  lookupNow?(userId: string, step: HostStepName): RouteHint | null | undefined;
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

/** How a step that asked peers ended (copied into its StepTiming). */
export interface StepNote {
  reason?: StepReason;
  asked?: number;
  answers?: number;
}

export interface DiscoveryStep {
  readonly name: DiscoveryStepName;
  readonly budgetMs: number;
  find(userId: string, ctx: StepContext, note?: StepNote): Promise<StepAnswer>;
  /** The answer synchronously when it can be had without waiting; undefined = use find. */
  findNow?(userId: string, ctx: StepContext): StepAnswer | undefined;
}
