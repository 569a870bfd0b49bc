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

/**
 * Why a step asking peers (PEER_QUERY: `peers`, `coordinators`) ended: `found` a usable
 * PEER_FOUND; `not-found` every peer asked answered (PEER_NOT_FOUND, or an address we can't use);
 * `timeout` some asked peer never answered; `no-peers` nobody to ask; `busy` too many queries in flight.
 */
export const STEP_REASONS = ['found', 'not-found', 'timeout', 'no-peers', 'busy'] as const;
export type StepReason = (typeof STEP_REASONS)[number];

/** Step times are measured on a monotonic clock and kept to this resolution (ms). */
export const STEP_MS_RESOLUTION = 0.01;

export interface StepTiming {
  step: DiscoveryStepName;
  /** The step's own time (monotonic clock, 0.01 ms resolution). */
  ms: number;
  budgetMs: number;
  outcome: StepOutcome;
  detail?: string;
  /** Steps that ask peers: why the step ended, how many peers were asked and how many answered. */
  reason?: StepReason;
  asked?: number;
  answers?: number;
  /**
   * A step that waited (a promise: the network, another process): how many other discovery chains
   * in this process were running at some point while it waited. Absent for a step answered synchronously.
   */
  concurrent?: number;
}

/** What the host answers for a host-backed step: the route, and for steps that ask peers, how it went. */
export interface HostLookup {
  route: RouteHint | null;
  reason?: StepReason;
  asked?: number;
  answers?: number;
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
