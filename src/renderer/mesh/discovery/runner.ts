/**
 * The discovery chain's runner: tries each step in order, stops at the first that answers, and
 * records every step's time and outcome. A step is cut off at its budget times `slack` plus
 * `graceMs` (a loaded machine or the renderer-host hop must not skip a step that would answer);
 * the trace says which steps ran over their seed-004 budget.
 */
import type { RouteTrace, StepTiming } from '../../../shared/discovery';
import { activeStep } from './steps/active';
import { coordinatorsStep } from './steps/coordinators';
import { peerQueryStep } from './steps/peer-query';
import { registryStep } from './steps/registry';
import { routeCacheStep } from './steps/route-cache';
import { storeAndForwardStep } from './steps/store-and-forward';
import type { DiscoveryHost, DiscoveryStep, StepAnswer } from './types';

export const DEFAULT_CHAIN: readonly DiscoveryStep[] = [
  activeStep, routeCacheStep, peerQueryStep, coordinatorsStep, registryStep, storeAndForwardStep,
];

export interface RunnerOptions {
  host: DiscoveryHost;
  steps?: readonly DiscoveryStep[];
  slack?: number;
  graceMs?: number;
  now?: () => number;
  /** False once the attempt was superseded (e.g. the peer's own offer arrived): stop early. */
  isCurrent?: () => boolean;
}

export const DEFAULT_SLACK = 2;
export const DEFAULT_GRACE_MS = 100;

export async function runChain(userId: string, opts: RunnerOptions): Promise<RouteTrace> {
  const now = opts.now ?? (() => Date.now());
  const steps = opts.steps ?? DEFAULT_CHAIN;
  const slack = opts.slack ?? DEFAULT_SLACK;
  const grace = opts.graceMs ?? DEFAULT_GRACE_MS;
  const trace: RouteTrace = { userId, startedAt: now(), steps: [], winner: null, route: null, result: 'discovering' };
  for (const step of steps) {
    if (opts.isCurrent && !opts.isCurrent()) break;
    const timeoutMs = Math.round(step.budgetMs * slack + grace);
    const t0 = now();
    const timing: StepTiming = { step: step.name, ms: 0, budgetMs: step.budgetMs, outcome: 'none' };
    let answer: StepAnswer = null;
    try {
      const got = await cutoff(step.find(userId, { host: opts.host, timeoutMs }), timeoutMs);
      if (got === TIMED_OUT) timing.outcome = 'timeout';
      else if (got) {
        answer = got;
        timing.outcome = 'found';
      }
    } catch (error) {
      timing.outcome = 'error';
      timing.detail = (error instanceof Error ? error.message : String(error)).slice(0, 200);
    }
    timing.ms = now() - t0;
    trace.steps.push(timing);
    if (!answer) continue;
    trace.winner = step.name;
    if ('store' in answer) trace.result = 'stored';
    else {
      trace.route = answer.route;
      trace.result = 'connecting';
    }
    break;
  }
  if (!trace.winner) trace.result = 'failed';
  return trace;
}

const TIMED_OUT = Symbol('timed out');

function cutoff<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(TIMED_OUT), ms);
    promise.then(
      (v) => { clearTimeout(timer); resolve(v); },
      (e: unknown) => { clearTimeout(timer); reject(e instanceof Error ? e : new Error(String(e))); },
    );
  });
}
