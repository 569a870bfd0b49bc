/**
 * What the network panel shows, derived from the store: per contact the path in use, the step
 * of the discovery chain that found it and how long each step of the last attempt took against
 * its seed-004 budget; for this device the signal servers attached. Pure, so it is tested alone.
 */
import type { NetworkStatus, PeerInfo, RouteTrace, SignalServerStatus, StepTiming } from '../../shared/api';
import { DISCOVERY_STEPS, STEP_BUDGET_MS, STEP_LABEL, type DiscoveryStepName } from '../../shared/discovery';

export type PathKind = 'direct' | 'relay' | 'stored' | 'none';

export interface PathView { kind: PathKind; words: string }

/** The path to a contact, in words: direct, through a relay, stored for later, or none. */
export function pathView(peer: Pick<PeerInfo, 'state' | 'path'> | undefined): PathView {
  if (!peer) return { kind: 'none', words: 'None: no connection attempt yet' };
  if (peer.state === 'CONNECTED') {
    switch (peer.path) {
      case 'direct': return { kind: 'direct', words: 'Direct: a peer-to-peer connection' };
      case 'relay': return { kind: 'relay', words: 'Relayed through another peer (still end-to-end encrypted)' };
      case 'coordinator': return { kind: 'stored', words: 'Stored: a coordinator peer holds messages until they connect' };
      case 'mailbox': return { kind: 'stored', words: 'Stored: the mailbox holds messages until they connect' };
      case 'none': return { kind: 'direct', words: 'Direct: a peer-to-peer connection' };
    }
  }
  if (peer.path === 'coordinator' || peer.path === 'mailbox' || peer.state === 'STORE_AND_FORWARD') {
    return { kind: 'stored', words: 'Stored: no live path; messages wait and are delivered once one opens' };
  }
  switch (peer.state) {
    case 'DISCOVERING': return { kind: 'none', words: 'None yet: looking for them' };
    case 'SIGNALING': case 'CONNECTING': return { kind: 'none', words: 'None yet: connecting' };
    case 'RECONNECTING': return { kind: 'none', words: 'None: the connection dropped, reconnecting' };
    case 'FAILED': return { kind: 'none', words: 'None: every attempt failed (Retry tries again)' };
    default: return { kind: 'none', words: 'None: not connected' };
  }
}

export interface StepRow {
  step: DiscoveryStepName;
  label: string;
  budgetMs: number;
  /** Null when the step did not run in the last attempt (an earlier step answered). */
  ms: number | null;
  outcome: StepTiming['outcome'] | 'not tried';
  overBudget: boolean;
  winner: boolean;
  /** e.g. "12 ms of 50 ms, found". */
  text: string;
}

const OUTCOME_WORDS: Record<StepRow['outcome'], string> = {
  found: 'found', none: 'nothing', timeout: 'timed out', error: 'error', skipped: 'skipped', 'not tried': 'not tried',
};

/** One row per chain step, in chain order, whether or not it ran. */
export function stepRows(trace: RouteTrace | undefined): StepRow[] {
  return DISCOVERY_STEPS.map((step) => {
    const t = trace?.steps.find((s) => s.step === step);
    const budgetMs = t?.budgetMs ?? STEP_BUDGET_MS[step];
    if (!t) {
      return { step, label: STEP_LABEL[step], budgetMs, ms: null, outcome: 'not tried', overBudget: false, winner: false, text: `not tried (budget ${budgetMs} ms)` };
    }
    const ms = Math.round(t.ms);
    // Budgets are whole milliseconds: 0.02 ms is within "0 ms".
    const overBudget = ms > budgetMs;
    const shown = t.ms < 10 ? t.ms.toFixed(2) : String(ms);
    const detail = t.detail ? `: ${t.detail}` : '';
    return {
      step, label: STEP_LABEL[step], budgetMs, ms, outcome: t.outcome, overBudget, winner: trace?.winner === step,
      text: `${shown} ms of ${budgetMs} ms${overBudget ? ' (over budget)' : ''}, ${OUTCOME_WORDS[t.outcome]}${detail}`,
    };
  });
}

/** True when we are connected although our own last search did not find the route: they called us. */
export function theyConnected(trace: RouteTrace | undefined, peer?: Pick<PeerInfo, 'state'>): boolean {
  return peer?.state === 'CONNECTED' && (!trace || trace.result === 'stored' || trace.result === 'failed');
}

/** Which step found the route, in words. */
export function foundByWords(trace: RouteTrace | undefined, peer?: Partial<Pick<PeerInfo, 'foundBy' | 'state'>>): string {
  const winner = trace ? trace.winner : peer?.foundBy ?? null;
  if (peer?.state && theyConnected(trace, { state: peer.state })) {
    if (!trace) return 'They connected to us (we had not searched)';
    return `They connected to us (our own last search: ${trace.winner ? STEP_LABEL[trace.winner] : 'found nothing'})`;
  }
  if (!trace && !winner) return 'No discovery attempt yet';
  if (!winner) return trace?.result === 'discovering' ? 'Still looking…' : 'No step found a route';
  const via = trace?.route?.via ? ` (${trace.route.via})` : '';
  return `${STEP_LABEL[winner]}${via}`;
}

const ATTEMPT_WORDS: Record<RouteTrace['result'], string> = {
  discovering: 'looking', connecting: 'connecting', connected: 'connected', failed: 'failed', stored: 'messages stored for later',
};

export function attemptWords(trace: RouteTrace | undefined): string | null {
  if (!trace) return null;
  const took = trace.connectMs !== undefined ? `, channel open after ${Math.round(trace.connectMs)} ms` : '';
  return `Last attempt: ${ATTEMPT_WORDS[trace.result]}${took}`;
}

export interface ServerRow { url: string; kind: string; state: SignalServerStatus['state']; words: string; home: boolean }

const SERVER_STATE_WORDS: Record<SignalServerStatus['state'], string> = {
  connecting: 'connecting…', connected: 'attached', reconnecting: 'unreachable, reconnecting', offline: 'offline',
};

/** The signal servers this device is attached to: its own first, then ones opened for a route. */
export function serverRows(network: NetworkStatus | null): ServerRow[] {
  if (!network) return [];
  return [...network.signalServers]
    .sort((a, b) => Number(b.home) - Number(a.home))
    .map((s) => ({
      url: s.url, home: s.home, state: s.state,
      kind: s.kind === 'mqtt' ? 'MQTT broker' : 'WebSocket signal server',
      words: `${SERVER_STATE_WORDS[s.state]}${s.home ? '' : ' (opened to reach a contact)'}`,
    }));
}

export function registryWords(network: NetworkStatus | null): string {
  const r = network?.registry;
  if (!r) return 'No registry set (Settings → Registry URL)';
  if (r.lastError) return `${r.url}, network ${r.networkId}: last announce failed (${r.lastError})`;
  if (r.lastAnnounceOk) return `${r.url}, network ${r.networkId}: announced`;
  return `${r.url}, network ${r.networkId}: not announced yet`;
}

/**
 * The selected ICE candidate pair, when the peer state carries one (`candidatePair`). Read as
 * unknown: it is shown, never trusted, and older hosts do not send it.
 */
export function candidatePairWords(peer: unknown): string | null {
  if (typeof peer !== 'object' || peer === null || !('candidatePair' in peer)) return null;
  const pair = (peer as { candidatePair: unknown }).candidatePair;
  if (typeof pair === 'string') return pair.slice(0, 200) || null;
  if (typeof pair !== 'object' || pair === null) return null;
  const side = (v: unknown): string => {
    if (typeof v === 'string') return v.slice(0, 100);
    if (typeof v !== 'object' || v === null) return '?';
    const c = v as Record<string, unknown>;
    const type = typeof c.type === 'string' ? c.type : typeof c.candidateType === 'string' ? c.candidateType : '';
    const addr = typeof c.address === 'string' ? c.address : typeof c.ip === 'string' ? c.ip : '';
    const port = typeof c.port === 'number' ? `:${c.port}` : '';
    const proto = typeof c.protocol === 'string' ? ` ${c.protocol}` : '';
    return `${type}${type && addr ? ' ' : ''}${addr}${port}${proto}`.slice(0, 100) || '?';
  };
  const p = pair as Record<string, unknown>;
  const local = p.local ?? p.localCandidate;
  const remote = p.remote ?? p.remoteCandidate;
  if (local === undefined && remote === undefined) return null;
  return `${side(local)} ↔ ${side(remote)}`;
}
