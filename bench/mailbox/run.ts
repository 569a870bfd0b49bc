// Orchestrates the whole mailbox benchmark: throughput/latency cells run interleaved across the
// systems (so background noise on the shared machine hits all of them alike), then failover runs
// one system at a time, then every queue is read back and checked against the acknowledgements.
import { randomBytes } from 'node:crypto';
import type { Histogram } from 'hdr-histogram-js';
import { runFailover, percentile, type FailoverResult } from './failover';
import { JetStreamCluster } from './jetstream';
import { AckLedger, lossFree, type LossReport } from './ledger';
import { ParleyInboxCluster } from './inbox';
import { ParleyCluster, parleyUnavailableReason } from './parley';
import { cleanupAll } from './procs';
import type { AppendClient, BenchCluster } from './types';
import { median, newLatencyHistogram, runClosedLoop, type RunResult } from './workload';

export type SystemKey = 'jetstream' | 'parley-normal' | 'parley-full' | 'parley-inbox' | 'parley-inbox-normal';
export type FailoverKey = 'jetstream' | 'parley-fast' | 'parley-spec';

export interface BenchOptions {
  quick: boolean;
  /** Issue 8's report-only mode: inbox deposits (the host's mailbox tier path) against JetStream at the given in-flight counts. */
  inboxAppend?: boolean;
  withParley: boolean;
  payloadSizes: number[];
  inFlights: number[];
  runs: number;
  runMs: number;
  warmupMs: number;
  failoverIterations: number;
  specFailoverIterations: number;
  failoverInFlight: number;
  failoverPayload: number;
  log: (line: string) => void;
}

export interface CellResult {
  system: SystemKey;
  label: string;
  payloadSize: number;
  inFlight: number;
  runs: RunResult[];
  medianThroughput: number;
  /** Percentiles over every measured run of the cell together. */
  p50Ms: number;
  p99Ms: number;
  errors: number;
  loss?: LossReport;
  error?: string;
  /** Inbox mode: the JetStream cell run at the sealed size of this many bytes of text. */
  textSize?: number;
}

export interface FailoverSummary {
  system: FailoverKey;
  label: string;
  iterations: number;
  windowsMs: number[];
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  timedOut: number;
  appendsAcknowledged: number;
  loss?: LossReport;
  note?: string;
  error?: string;
}

export interface BenchResults {
  cells: CellResult[];
  failover: FailoverSummary[];
  skipped: string[];
}

export function defaultOptions(quick: boolean): Omit<BenchOptions, 'log' | 'withParley'> {
  return quick
    ? {
        quick,
        payloadSizes: [256, 1024],
        inFlights: [1, 8, 64],
        runs: 1,
        runMs: 400,
        warmupMs: 100,
        failoverIterations: 1,
        specFailoverIterations: 0,
        failoverInFlight: 4,
        failoverPayload: 256,
      }
    : {
        quick,
        payloadSizes: [256, 1024],
        inFlights: [1, 8, 64],
        runs: 3,
        runMs: 1000,
        // Every system, every cell: a freshly started Node broker runs its hot path unoptimised for
        // its first few thousand appends (JIT), which is not what a long-running broker serves.
        warmupMs: 2000,
        failoverIterations: 20,
        // Each spec-profile kill costs 15-30 s of election plus read-back; raise with --spec-failover.
        specFailoverIterations: 5,
        failoverInFlight: 4,
        failoverPayload: 256,
      };
}

interface LiveSystem {
  key: SystemKey;
  cluster: BenchCluster;
  failed?: string;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function startSystem(key: SystemKey, cluster: BenchCluster, options: BenchOptions, skipped: string[]): Promise<LiveSystem | undefined> {
  options.log(`starting ${cluster.label} (3 nodes)`);
  try {
    await cluster.start();
    return { key, cluster };
  } catch (error) {
    skipped.push(`${cluster.label}: failed to start: ${errorText(error)}`);
    options.log(`  ${cluster.label} failed to start: ${errorText(error)}`);
    await cluster.stop().catch(() => undefined);
    return undefined;
  }
}

async function verifyQueue(cluster: BenchCluster, queue: string, ledger: AckLedger): Promise<LossReport> {
  const stored = await cluster.readAll(queue);
  return ledger.verify(stored);
}

async function runThroughputCell(
  systems: LiveSystem[],
  payloadSize: number,
  inFlight: number,
  options: BenchOptions,
  runTag: string,
): Promise<{ results: CellResult[]; verifications: (() => Promise<void>)[] }> {
  const queue = `t-${runTag}-${payloadSize}-${inFlight}`;
  interface CellState {
    system: LiveSystem;
    client?: AppendClient;
    ledger: AckLedger;
    runs: RunResult[];
    histogram: Histogram;
    error?: string;
  }
  const states: CellState[] = systems
    .filter((s) => s.failed === undefined)
    .map((system) => ({ system, ledger: new AckLedger(), runs: [], histogram: newLatencyHistogram() }));

  const guard = async (state: CellState, what: string, fn: () => Promise<void>): Promise<void> => {
    if (state.error !== undefined) return;
    try {
      await fn();
    } catch (error) {
      state.error = `${what}: ${errorText(error)}`;
      options.log(`  ${state.system.cluster.label} ${state.error}`);
    }
  };

  for (const state of states) {
    await guard(state, 'setup', async () => {
      await state.system.cluster.createQueue(queue);
      state.client = await state.system.cluster.connect();
      const warmup = await runClosedLoop(state.client, {
        queue, payloadSize, inFlight, durationMs: options.warmupMs, ledger: state.ledger, requestIdPrefix: `${queue}-w`,
      });
      if (warmup.appends === 0) throw new Error(`no append succeeded during warm-up (${warmup.errors} errors)`);
    });
  }
  for (let run = 0; run < options.runs; run++) {
    for (const state of states) {
      await guard(state, `run ${run + 1}`, async () => {
        if (!state.client) throw new Error('no client');
        const result = await runClosedLoop(state.client, {
          queue, payloadSize, inFlight, durationMs: options.runMs, ledger: state.ledger,
          requestIdPrefix: `${queue}-r${run}`, cellHistogram: state.histogram,
        });
        state.runs.push(result);
        options.log(
          `  ${state.system.cluster.label.padEnd(14)} ${String(payloadSize).padStart(4)} B x${String(inFlight).padStart(2)} run ${run + 1}: ` +
            `${result.throughput.toFixed(0)} appends/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms` +
            (result.errors > 0 ? `, ${result.errors} errors` : ''),
        );
      });
    }
  }
  const results: CellResult[] = [];
  const verifications: (() => Promise<void>)[] = [];
  for (const state of states) {
    await state.client?.close().catch(() => undefined);
    const cell: CellResult = {
      system: state.system.key,
      label: state.system.cluster.label,
      payloadSize,
      inFlight,
      runs: state.runs,
      medianThroughput: median(state.runs.map((r) => r.throughput)),
      p50Ms: state.histogram.totalCount > 0 ? state.histogram.getValueAtPercentile(50) / 1000 : Number.NaN,
      p99Ms: state.histogram.totalCount > 0 ? state.histogram.getValueAtPercentile(99) / 1000 : Number.NaN,
      errors: state.runs.reduce((sum, r) => sum + r.errors, 0),
      error: state.error,
    };
    state.histogram.destroy();
    results.push(cell);
    if (state.error !== undefined && state.runs.length === 0) continue;
    verifications.push(async () => {
      try {
        const t0 = Date.now();
        const loss = await verifyQueue(state.system.cluster, queue, state.ledger);
        cell.loss = loss;
        options.log(`  ${cell.label} ${queue}: read back ${loss.stored} messages in ${Date.now() - t0} ms${lossFree(loss) ? '' : ` LOSS: ${loss.examples.join('; ')}`}`);
        await state.system.cluster.dropQueue(queue);
      } catch (error) {
        cell.error = `${cell.error ? `${cell.error}; ` : ''}verify: ${errorText(error)}`;
        options.log(`  ${cell.label} ${queue}: ${cell.error}`);
      }
    });
  }
  return { results, verifications };
}

async function runFailoverFor(
  key: FailoverKey,
  cluster: BenchCluster,
  iterations: number,
  options: BenchOptions,
  runTag: string,
  windowTimeoutMs: number,
  note?: string,
): Promise<FailoverSummary> {
  const queue = `f-${runTag}-${key}`;
  const ledger = new AckLedger();
  const summary: FailoverSummary = {
    system: key, label: cluster.label, iterations, windowsMs: [], p50Ms: Number.NaN, p99Ms: Number.NaN, maxMs: Number.NaN,
    timedOut: 0, appendsAcknowledged: 0, note,
  };
  options.log(`failover: ${cluster.label} (${key}), ${iterations} kills of the leader`);
  let client: AppendClient | undefined;
  try {
    await cluster.createQueue(queue);
    client = await cluster.connect();
    const result: FailoverResult = await runFailover(cluster, client, {
      queue, iterations, payloadSize: options.failoverPayload, inFlight: options.failoverInFlight, ledger,
      requestIdPrefix: `${queue}`, steadyMs: options.quick ? 200 : 500, windowTimeoutMs,
      healthTimeoutMs: Math.max(60_000, windowTimeoutMs), log: options.log,
    });
    summary.windowsMs = result.windowsMs;
    summary.timedOut = result.timedOut;
    summary.appendsAcknowledged = result.appendsAcknowledged;
  } catch (error) {
    summary.error = errorText(error);
    options.log(`  ${cluster.label} failover error: ${summary.error}`);
  }
  await client?.close().catch(() => undefined);
  try {
    summary.loss = await verifyQueue(cluster, queue, ledger);
    if (!lossFree(summary.loss)) options.log(`  ${cluster.label} LOSS after failover: ${summary.loss.examples.join('; ')}`);
  } catch (error) {
    summary.error = `${summary.error ? `${summary.error}; ` : ''}verify: ${errorText(error)}`;
  }
  if (summary.windowsMs.length > 0) {
    summary.p50Ms = percentile(summary.windowsMs, 50);
    summary.p99Ms = percentile(summary.windowsMs, 99);
    summary.maxMs = Math.max(...summary.windowsMs);
  }
  summary.iterations = summary.windowsMs.length;
  return summary;
}

/**
 * Inbox-append mode: JetStream R3 (no per-write fsync in 2.9), the plain Parley append (no fsync)
 * and the inbox deposit on Parley clusters without and with fsync (inbox policy on), interleaved
 * per run; JetStream also at the sealed deposit's size, so the crypto's extra bytes are not
 * counted against the mailbox.
 */
async function runInboxBench(options: BenchOptions, runTag: string): Promise<BenchResults> {
  const skipped: string[] = [];
  const cells: CellResult[] = [];
  const systems: LiveSystem[] = [];
  const unavailable = parleyUnavailableReason();
  try {
    const jetstream = await startSystem('jetstream', new JetStreamCluster(), options, skipped);
    if (jetstream) systems.push(jetstream);
    if (unavailable) skipped.push(`Parley: ${unavailable}`);
    else {
      const plain = await startSystem('parley-normal', new ParleyCluster({ profile: 'fast', sync: 'normal' }), options, skipped);
      if (plain) systems.push(plain);
      const inboxNormal = await startSystem('parley-inbox-normal', new ParleyInboxCluster('normal'), options, skipped);
      if (inboxNormal) systems.push(inboxNormal);
      const inbox = await startSystem('parley-inbox', new ParleyInboxCluster('full'), options, skipped);
      if (inbox) systems.push(inbox);
    }
    const inbox = systems.find((s) => s.key === 'parley-inbox')?.cluster as ParleyInboxCluster | undefined;
    for (const payloadSize of options.payloadSizes) {
      for (const inFlight of options.inFlights) {
        options.log(`inbox append: ${payloadSize} B of text, ${inFlight} in flight`);
        const cell = await runThroughputCell(systems, payloadSize, inFlight, options, runTag);
        cells.push(...cell.results);
        await Promise.all(cell.verifications.map((verify) => verify()));
        if (inbox && jetstream) {
          const sealedSize = inbox.depositSize(payloadSize);
          options.log(`inbox append: JetStream at the sealed deposit's size, ${sealedSize} B, ${inFlight} in flight`);
          const big = await runThroughputCell([jetstream], sealedSize, inFlight, options, runTag);
          for (const c of big.results) {
            c.label = `JetStream (sealed size of ${payloadSize} B)`;
            c.textSize = payloadSize;
            cells.push(c);
          }
          await Promise.all(big.verifications.map((verify) => verify()));
        }
      }
    }
  } finally {
    for (const s of systems) await s.cluster.stop().catch((error: unknown) => options.log(`  stopping ${s.cluster.label}: ${errorText(error)}`));
    cleanupAll();
  }
  return { cells, failover: [], skipped };
}

export async function runMailboxBench(options: BenchOptions): Promise<BenchResults> {
  const runTag = randomBytes(3).toString('hex');
  if (options.inboxAppend) return runInboxBench(options, runTag);
  const skipped: string[] = [];
  const cells: CellResult[] = [];
  const failover: FailoverSummary[] = [];
  const started: BenchCluster[] = [];
  const stopQuietly = async (cluster: BenchCluster): Promise<void> => {
    await cluster.stop().catch((error: unknown) => options.log(`  stopping ${cluster.label}: ${errorText(error)}`));
    started.splice(started.indexOf(cluster), 1);
  };

  try {
    const systems: LiveSystem[] = [];
    const jetstream = await startSystem('jetstream', new JetStreamCluster(), options, skipped);
    if (jetstream) {
      systems.push(jetstream);
      started.push(jetstream.cluster);
    }
    let parleyFull: LiveSystem | undefined;
    let parleyNormal: LiveSystem | undefined;
    const unavailable = options.withParley ? parleyUnavailableReason() : 'disabled with --jetstream-only';
    if (unavailable) {
      skipped.push(`Parley: ${unavailable}`);
    } else {
      parleyNormal = await startSystem('parley-normal', new ParleyCluster({ profile: 'fast', sync: 'normal' }), options, skipped);
      parleyFull = await startSystem('parley-full', new ParleyCluster({ profile: 'fast', sync: 'full' }), options, skipped);
      for (const s of [parleyNormal, parleyFull]) {
        if (s) {
          systems.push(s);
          started.push(s.cluster);
        }
      }
    }

    // Each cell's queues are read back right after it, the systems side by side. (Not all cells at
    // the end: many concurrent READ+ACK chains on one Parley cluster were slower than one.)
    for (const payloadSize of options.payloadSizes) {
      for (const inFlight of options.inFlights) {
        options.log(`throughput: ${payloadSize} B, ${inFlight} in flight`);
        const cell = await runThroughputCell(systems, payloadSize, inFlight, options, runTag);
        cells.push(...cell.results);
        await Promise.all(cell.verifications.map((verify) => verify()));
      }
    }

    // Failover one system at a time; the no-fsync Parley cluster is no longer needed.
    if (parleyNormal) await stopQuietly(parleyNormal.cluster);
    if (jetstream) {
      failover.push(await runFailoverFor('jetstream', jetstream.cluster, options.failoverIterations, options, runTag, 60_000));
      await stopQuietly(jetstream.cluster);
    }
    if (parleyFull) {
      failover.push(await runFailoverFor('parley-fast', parleyFull.cluster, options.failoverIterations, options, runTag, 30_000, 'profile fast, sync full'));
      await stopQuietly(parleyFull.cluster);
    }
    if (!unavailable) {
      if (options.specFailoverIterations > 0) {
        const spec = await startSystem('parley-full', new ParleyCluster({ profile: 'spec', sync: 'full' }), options, skipped);
        if (spec) {
          started.push(spec.cluster);
          const reduced = options.specFailoverIterations < 20
            ? `reduced to ${options.specFailoverIterations} kills: the spec profile's 15 s election timeout makes each kill cost 15-30 s`
            : undefined;
          failover.push(
            await runFailoverFor('parley-spec', spec.cluster, options.specFailoverIterations, options, runTag, 120_000,
              ['profile spec, sync full', reduced].filter(Boolean).join('; ')),
          );
          await stopQuietly(spec.cluster);
        }
      } else {
        skipped.push('Parley spec failover: skipped (0 iterations requested; its 15 s election timeouts do not fit a quick run)');
      }
    }
  } finally {
    for (const cluster of [...started]) await stopQuietly(cluster);
    cleanupAll();
  }
  return { cells, failover, skipped };
}
