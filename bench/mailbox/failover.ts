// Failover: a client keeps appending (retrying each append with the same request id until it is
// acknowledged) while the leader is killed with SIGKILL and later restarted. The unavailability
// window is the time from the kill to the first successful append attempt that started after it.
// Besides the load workers (whose stuck attempts only end at the client's timeout), a probe starts
// a fresh short-timeout append every PROBE_INTERVAL_MS, so the window's resolution is that interval
// for both systems rather than each client's retry timer.
import { performance } from 'node:perf_hooks';
import type { AckLedger } from './ledger';
import { makePayloadFactory } from './ledger';
import { sleep, waitFor } from './procs';
import type { AppendClient, BenchCluster } from './types';

export interface FailoverOptions {
  queue: string;
  iterations: number;
  payloadSize: number;
  inFlight: number;
  ledger: AckLedger;
  requestIdPrefix: string;
  /** Load before each kill, so the kill lands on a busy leader. */
  steadyMs: number;
  /** Give up on one iteration if no append succeeds within this long after the kill. */
  windowTimeoutMs: number;
  healthTimeoutMs: number;
  log: (line: string) => void;
}

export interface FailoverResult {
  iterations: number;
  windowsMs: number[];
  /** Iterations where no append succeeded within windowTimeoutMs (counted as unavailable). */
  timedOut: number;
  appendsAcknowledged: number;
  appendErrors: number;
}

const PROBE_INTERVAL_MS = 25;
/** Pause between one worker's appends: steady load, but a volume the read-back can check in minutes. */
const WORKER_PAUSE_MS = 20;
const PROBE_TIMEOUT_MS = 1000;

class ContinuousAppender {
  private stopped = false;
  private workers: Promise<void>[] = [];
  private probes = new Set<Promise<void>>();
  private probeTimer: NodeJS.Timeout | undefined;
  private waiters: { after: number; resolve: (endedAt: number) => void }[] = [];
  acknowledged = 0;
  errors = 0;

  constructor(
    private readonly client: AppendClient,
    private readonly probeClient: AppendClient,
    private readonly options: FailoverOptions,
  ) {}

  start(): void {
    const payloadOf = makePayloadFactory(this.options.payloadSize);
    const probe = async (): Promise<void> => {
      const counter = this.options.ledger.next(this.options.payloadSize);
      const attemptStarted = performance.now();
      try {
        const seq = await this.probeClient.append(this.options.queue, payloadOf(counter), `${this.options.requestIdPrefix}-p${counter}`);
        this.options.ledger.acknowledge(seq, counter);
        this.acknowledged++;
        this.succeeded(attemptStarted, performance.now());
      } catch {
        // A failed probe may still commit later; the read-back reports it as unacknowledged-but-stored.
        this.errors++;
      }
    };
    this.probeTimer = setInterval(() => {
      const running = probe().finally(() => this.probes.delete(running));
      this.probes.add(running);
    }, PROBE_INTERVAL_MS);
    const worker = async (): Promise<void> => {
      while (!this.stopped) {
        const counter = this.options.ledger.next(this.options.payloadSize);
        const data = payloadOf(counter);
        const requestId = `${this.options.requestIdPrefix}-${counter}`;
        // Same request id on every retry: a retried append must not be stored twice.
        while (!this.stopped) {
          const attemptStarted = performance.now();
          try {
            const seq = await this.client.append(this.options.queue, data, requestId);
            this.options.ledger.acknowledge(seq, counter);
            this.acknowledged++;
            this.succeeded(attemptStarted, performance.now());
            await sleep(WORKER_PAUSE_MS);
            break;
          } catch {
            this.errors++;
            await sleep(10);
          }
        }
      }
    };
    this.workers = Array.from({ length: this.options.inFlight }, worker);
  }

  private succeeded(attemptStarted: number, endedAt: number): void {
    const ready = this.waiters.filter((w) => attemptStarted >= w.after);
    this.waiters = this.waiters.filter((w) => attemptStarted < w.after);
    for (const w of ready) w.resolve(endedAt);
  }

  /** Resolves with the end time of the first successful attempt that started at or after `after`. */
  firstSuccessStartedAfter(after: number): Promise<number> {
    return new Promise((resolve) => this.waiters.push({ after, resolve }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.probeTimer);
    await Promise.all([...this.workers, ...this.probes]);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    promise.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

export async function runFailover(cluster: BenchCluster, client: AppendClient, options: FailoverOptions): Promise<FailoverResult> {
  const probeClient = await cluster.connect({ operationTimeoutMs: PROBE_TIMEOUT_MS });
  const appender = new ContinuousAppender(client, probeClient, options);
  const windowsMs: number[] = [];
  let timedOut = 0;
  appender.start();
  try {
    for (let i = 0; i < options.iterations; i++) {
      await cluster.waitHealthy(options.queue, options.healthTimeoutMs);
      const leader = await waitFor('a leader', async () => cluster.leaderIndex(options.queue), { timeoutMs: options.healthTimeoutMs, intervalMs: 100 });
      const flowing = await withTimeout(appender.firstSuccessStartedAfter(performance.now()), options.healthTimeoutMs);
      if (flowing === undefined) throw new Error('appends do not succeed on a healthy cluster');
      await sleep(options.steadyMs);

      const killedAt = performance.now();
      if (process.env.BENCH_DEBUG === '1') options.log(`  killing node ${leader} at ${new Date().toISOString()}`);
      await cluster.kill9(leader);
      const recoveredAt = await withTimeout(appender.firstSuccessStartedAfter(killedAt), options.windowTimeoutMs);
      if (recoveredAt === undefined) {
        timedOut++;
        windowsMs.push(options.windowTimeoutMs);
        options.log(`  kill ${i + 1}/${options.iterations}: node ${leader}, no append succeeded within ${options.windowTimeoutMs} ms`);
      } else {
        windowsMs.push(recoveredAt - killedAt);
        options.log(`  kill ${i + 1}/${options.iterations}: node ${leader}, unavailable ${(recoveredAt - killedAt).toFixed(0)} ms`);
      }
      await cluster.restart(leader);
    }
    await cluster.waitHealthy(options.queue, options.healthTimeoutMs);
  } finally {
    await appender.stop();
    await probeClient.close().catch(() => undefined);
  }
  return {
    iterations: options.iterations,
    windowsMs,
    timedOut,
    appendsAcknowledged: appender.acknowledged,
    appendErrors: appender.errors,
  };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest-rank: with 20 samples p99 is the worst one, which is the honest reading of "p99 of 20".
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}
