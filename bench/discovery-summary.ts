/**
 * Summarises separate runs of bench/discovery.bench.ts (each `--runs 1 --out discovery-runN`)
 * into bench/results/discovery.json: per step, the median over runs of the bar's p50/p95 with
 * min/max, whether every run was within budget, and the connect-time ratios to the shared broker
 * (each run's own baseline). The per-run files stay beside it.
 * Usage: npx tsx bench/discovery-summary.ts discovery-run1 discovery-run2 discovery-run3
 */
import { readFileSync } from 'node:fs';
import { round, spread, writeResult, type Spread } from './lib/stats';

interface RunStep {
  budgetMs: number;
  runs: number;
  found: number;
  pooled: { p50Ms: number; p95Ms: number; maxMs: number };
  answerP95Ms: number;
  missP95Ms: number;
  withinBudget: boolean;
  reasons?: Record<string, number>;
  allRuns: { runs: number; overlapping: number; background: number; p50Ms: number; p95Ms: number; maxMs: number };
}
interface RunConnect { samples: number; connectMsP50: Spread; ratioToBrokerP50: Spread; retryToConnectedWallMs?: { p50: number; p95: number } }
interface Run {
  revision: string;
  at: string;
  setup: string;
  steps: Record<string, RunStep>;
  connect: Record<string, RunConnect>;
  bar: { pass: boolean; failing: string[] };
  discarded: unknown[];
  loadAverage: { before: number[]; after: number[] };
}

const names = process.argv.slice(2);
if (names.length === 0) throw new Error('usage: discovery-summary.ts discovery-run1 discovery-run2 …');
const runs = names.map((n) => JSON.parse(readFileSync(`bench/results/${n}.json`, 'utf8')) as Run);
const num = (xs: number[]): Spread => spread(xs.filter(Number.isFinite).map((x) => round(x, 2)));

const stepNames = [...new Set(runs.flatMap((r) => Object.keys(r.steps)))];
const steps = Object.fromEntries(stepNames.map((name) => {
  const of = runs.map((r) => r.steps[name]).filter((s): s is RunStep => s !== undefined);
  const p95 = num(of.map((s) => s.pooled.p95Ms));
  return [name, {
    budgetMs: of[0]!.budgetMs,
    runsPerBenchRun: of.map((s) => s.runs),
    foundPerBenchRun: of.map((s) => s.found),
    p50Ms: num(of.map((s) => s.pooled.p50Ms)),
    p95Ms: p95,
    maxMs: num(of.map((s) => s.pooled.maxMs)),
    answerP95Ms: num(of.map((s) => s.answerP95Ms)),
    missP95Ms: num(of.map((s) => s.missP95Ms)),
    withinBudgetEveryRun: of.every((s) => s.withinBudget),
    withinBudgetMedian: Math.round(p95.median) <= of[0]!.budgetMs,
    allRunsP95Ms: num(of.map((s) => s.allRuns.p95Ms)),
    overlappingOrBackground: of.map((s) => s.allRuns.overlapping + s.allRuns.background),
    ...(of.some((s) => s.reasons) ? { reasons: of.map((s) => s.reasons ?? {}) } : {}),
  }];
}));

const connectNames = [...new Set(runs.flatMap((r) => Object.keys(r.connect)))];
const connect = Object.fromEntries(connectNames.map((name) => {
  const of = runs.map((r) => r.connect[name]).filter((c): c is RunConnect => c !== undefined);
  return [name, {
    samples: of.map((c) => c.samples),
    connectMsP50: num(of.map((c) => c.connectMsP50.median)),
    ratioToBrokerP50: num(of.map((c) => c.ratioToBrokerP50.median)),
    ...(of.some((c) => c.retryToConnectedWallMs) ? { openToConnectedWallMsP50: num(of.map((c) => c.retryToConnectedWallMs?.p50 ?? Number.NaN)) } : {}),
  }];
}));

const result = {
  bench: 'discovery',
  summaryOf: names,
  revisions: [...new Set(runs.map((r) => r.revision))],
  at: runs.map((r) => r.at),
  setup: runs[0]!.setup,
  rule: "per step: each bench run's p95 over its one-at-a-time runs, rounded to the budgets' whole ms, <= the seed-004 budget; figures are the median over bench runs [min, max]",
  steps,
  connect,
  bar: {
    passEveryRun: runs.every((r) => r.bar.pass),
    perRun: runs.map((r) => ({ pass: r.bar.pass, failing: r.bar.failing })),
  },
  discarded: runs.map((r) => r.discarded.length),
  loadAverage: runs.map((r) => r.loadAverage),
};
const path = writeResult('discovery', result);

console.log('| step | budget ms | p50 ms median [min–max] | p95 ms median [min–max] | within budget (every run) | all runs p95 median |');
console.log('|---|---|---|---|---|---|');
for (const [name, s] of Object.entries(steps)) {
  console.log(`| ${name} | ${s.budgetMs} | ${s.p50Ms.median} [${s.p50Ms.min}–${s.p50Ms.max}] | ${s.p95Ms.median} [${s.p95Ms.min}–${s.p95Ms.max}] | ${s.withinBudgetEveryRun ? 'yes' : 'NO'} | ${s.allRunsP95Ms.median} |`);
}
console.log('\n| found by | connect p50 ms median [min–max] | ratio to broker median [min–max] |');
console.log('|---|---|---|');
for (const [name, c] of Object.entries(connect)) {
  console.log(`| ${name} | ${c.connectMsP50.median} [${c.connectMsP50.min}–${c.connectMsP50.max}] | ${c.ratioToBrokerP50.median} [${c.ratioToBrokerP50.min}–${c.ratioToBrokerP50.max}] |`);
}
console.log(`\nbar: ${result.bar.passEveryRun ? 'PASS in every run' : `FAIL (${JSON.stringify(result.bar.perRun)})`}; load ${JSON.stringify(result.loadAverage)}; wrote ${path}`);
