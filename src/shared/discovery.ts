/**
 * The discovery chain's vocabulary (seed 004, DESIGN section 6), shared by the mesh that runs the
 * chain, the host that answers its host-backed steps, and the UI that shows the last attempt.
 */
export const DISCOVERY_STEPS = ['active', 'cache', 'peers', 'coordinators', 'registry', 'store'] as const;
export type DiscoveryStepName = (typeof DISCOVERY_STEPS)[number];
/** Steps whose answer needs host state (calls in the typed API contract). */
export const HOST_STEPS = ['active', 'cache', 'peers', 'coordinators', 'registry'] as const;
export type HostStepName = (typeof HOST_STEPS)[number];

/** Seed 004's time budget of each step. */
export const STEP_BUDGET_MS: Readonly<Record<DiscoveryStepName, number>> = {
  active: 0, cache: 5, peers: 50, coordinators: 200, registry: 500, store: 1000,
};

/** What users read in the network panel and the `route` op. */
export const STEP_LABEL: Readonly<Record<DiscoveryStepName, string>> = {
  active: 'active connection',
  cache: 'cached route',
  peers: 'asked connected peers',
  coordinators: 'cached coordinators',
  registry: 'registry',
  store: 'store and forward',
};

/**
 * Where to signal a peer. `signalAddr` is a WebSocket signal server URL + `/` + the peer's
 * deviceId, or `mqtt://host:port/{userId}` for a broker; null means "the broker we share".
 */
export interface RouteHint {
  signalAddr: string | null;
  /** The peer that told us (PEER_FOUND) or the registry's host, for the panel. */
  via?: string;
  canRelay?: boolean;
}

export type StepOutcome = 'found' | 'none' | 'timeout' | 'error' | 'skipped';

export interface StepTiming {
  step: DiscoveryStepName;
  ms: number;
  budgetMs: number;
  outcome: StepOutcome;
  detail?: string;
}

export type AttemptResult = 'discovering' | 'connecting' | 'connected' | 'failed' | 'stored';

/** One run of the chain for one peer, and what became of the connection it started. */
export interface RouteTrace {
  userId: string;
  startedAt: number;
  steps: StepTiming[];
  winner: DiscoveryStepName | null;
  route: RouteHint | null;
  result: AttemptResult;
  /** From the start of the chain to the data channel opening. */
  connectMs?: number;
  /** 'relay' once a mutual contact carries the frames (peer relay, seed 004 canRelay); absent = direct. */
  path?: 'direct' | 'relay';
  /** The contact relaying, when path is 'relay'. */
  relayVia?: string;
}

export const MAX_TRACE_STEPS = DISCOVERY_STEPS.length;
