// Closed-loop load: N workers share one client connection, each issuing its next append as soon as
// the previous one is acknowledged. Latency goes into an HDR histogram in microseconds.
import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import type { AckLedger } from './ledger';
import { makePayloadFactory } from './ledger';
import type { AppendClient } from './types';

export interface RunResult {
  appends: number;
  errors: number;
  elapsedMs: number;
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ClosedLoopOptions {
  queue: string;
  payloadSize: number;
  inFlight: number;
  durationMs: number;
  ledger: AckLedger;
  /** Unique per harness run, so request ids never collide across runs on a reused queue. */
  requestIdPrefix: string;
  /** Also receives every latency sample (to aggregate percentiles over several runs). */
  cellHistogram?: hdr.Histogram;
}

export function newLatencyHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

export async function runClosedLoop(client: AppendClient, options: ClosedLoopOptions): Promise<RunResult> {
  const payloadOf = makePayloadFactory(options.payloadSize);
  const histogram = newLatencyHistogram();
  let appends = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + options.durationMs;

  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const counter = options.ledger.next(options.payloadSize);
      const t0 = performance.now();
      try {
        const seq = await client.append(options.queue, payloadOf(counter), `${options.requestIdPrefix}-${counter}`);
        const micros = Math.max(1, Math.round((performance.now() - t0) * 1000));
        histogram.recordValue(micros);
        options.cellHistogram?.recordValue(micros);
        options.ledger.acknowledge(seq, counter);
        appends++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.inFlight }, worker));
  const elapsedMs = performance.now() - started;
  const result: RunResult = {
    appends,
    errors,
    elapsedMs,
    throughput: appends / (elapsedMs / 1000),
    p50Ms: histogram.getValueAtPercentile(50) / 1000,
    p99Ms: histogram.getValueAtPercentile(99) / 1000,
    maxMs: histogram.maxValue / 1000,
  };
  histogram.destroy();
  return result;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
