/**
 * The discovery chain's runner: tries each step in order, stops at the first that answers, and
 * records every step's time and outcome. A step is cut off at its budget times `slack` plus
 * `graceMs` (a loaded machine or the renderer-host hop must not skip a step that would answer);
 * the trace says which steps ran over their seed-004 budget.
 *
 * Step times are the step's own: a monotonic clock (performance.now) read right before and right
 * after the step, kept to 0.01 ms. A step that can answer synchronously (findNow: the in-process
 * host's connections map and route cache) is timed without a promise or a turn of the event loop,
 * so other chains and timers in the process cannot land inside its figure.
 */
import { STEP_MS_RESOLUTION, type RouteTrace, type StepTiming } from '../../../shared/discovery';
import { activeStep } from './steps/active';
import { coordinatorsStep } from './steps/coordinators';
import { peerQueryStep } from './steps/peer-query';
import { registryStep } from './steps/registry';
import { routeCacheStep } from './steps/route-cache';
import { storeAndForwardStep } from './steps/store-and-forward';
import type { DiscoveryHost, DiscoveryStep, StepAnswer, StepContext, StepNote } from './types';

export const DEFAULT_CHAIN: readonly DiscoveryStep[] = [
  activeStep, routeCacheStep, peerQueryStep, coordinatorsStep, registryStep, storeAndForwardStep,
];

export interface RunnerOptions {
  host: DiscoveryHost;
  steps?: readonly DiscoveryStep[];
  slack?: number;
  graceMs?: number;
  /** Wall clock for the trace's startedAt (default Date.now). */
  now?: () => number;
  /** Monotonic clock for step times (default performance.now). */
  clock?: () => number;
  /** False once the attempt was superseded (e.g. the peer's own offer arrived): stop early. */
  isCurrent?: () => boolean;
}

export const DEFAULT_SLACK = 2;
export const DEFAULT_GRACE_MS = 100;

/** A duration kept to the trace's resolution (0.01 ms). */
export function stepMs(ms: number): number {
  const per = Math.round(1 / STEP_MS_RESOLUTION);
  return Math.max(0, Math.round(ms * per) / per);
}

export const monotonicNow = (): number => performance.now();

/** Chains running in this process now, and started so far: a waiting step's `concurrent` comes from them. */
let chainsRunning = 0;
let chainsStarted = 0;

export async function runChain(userId: string, opts: RunnerOptions): Promise<RouteTrace> {
  const now = opts.now ?? (() => Date.now());
  const clock = opts.clock ?? monotonicNow;
  const steps = opts.steps ?? DEFAULT_CHAIN;
  const slack = opts.slack ?? DEFAULT_SLACK;
  const grace = opts.graceMs ?? DEFAULT_GRACE_MS;
  const trace: RouteTrace = { userId, startedAt: now(), steps: [], winner: null, route: null, result: 'discovering' };
  chainsRunning++;
  chainsStarted++;
  try {
    await runSteps(userId, opts, steps, trace, clock, slack, grace);
  } finally {
    chainsRunning--;
  }
  if (!trace.winner) trace.result = 'failed';
  return trace;
}

async function runSteps(
  userId: string, opts: RunnerOptions, steps: readonly DiscoveryStep[], trace: RouteTrace, clock: () => number, slack: number, grace: number,
): Promise<void> {
  for (const step of steps) {
    if (opts.isCurrent && !opts.isCurrent()) break;
    const timeoutMs = Math.round(step.budgetMs * slack + grace);
    const ctx: StepContext = { host: opts.host, timeoutMs };
    const timing: StepTiming = { step: step.name, ms: 0, budgetMs: step.budgetMs, outcome: 'none' };
    const note: StepNote = {};
    let answer: StepAnswer = null;
    const t0 = clock();
    let t1 = t0;
    let waited: { running: number; started: number } | null = null;
    try {
      const sync = step.findNow?.(userId, ctx);
      if (sync !== undefined) {
        t1 = clock();
        answer = sync;
      } else {
        waited = { running: chainsRunning - 1, started: chainsStarted };
        const got = await cutoff(step.find(userId, ctx, note), timeoutMs);
        t1 = clock();
        if (got === TIMED_OUT) timing.outcome = 'timeout';
        else answer = got;
      }
      if (answer) timing.outcome = 'found';
    } catch (error) {
      t1 = clock();
      timing.outcome = 'error';
      timing.detail = (error instanceof Error ? error.message : String(error)).slice(0, 200);
    }
    timing.ms = stepMs(t1 - t0);
    if (waited) timing.concurrent = waited.running + (chainsStarted - waited.started);
    if (note.reason !== undefined) timing.reason = note.reason;
    if (note.asked !== undefined) timing.asked = note.asked;
    if (note.answers !== undefined) timing.answers = note.answers;
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
