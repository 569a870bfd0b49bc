// Continuous APPEND + READ/ACK load against a cluster, recording everything needed to check the
// safety properties afterwards (see checkHistory).
import { MailboxClient, MailboxError } from '../../../src/server/mailbox/client';
import { sleep } from './cluster';

export interface AppendRecord {
  queue: string;
  reqId: string;
  clientId: string;
  data: string;
  status: 'ok' | 'failed' | 'unknown';
  seq?: number;
  ackedAt?: number;
}

export interface ReadRecord {
  queue: string;
  clientId: string;
  seq: number;
  data: string;
}

export interface WorkloadOptions {
  seeds: string[];
  clusterId: string;
  queues: string[];
  writers: number;
  readers: string[];
  timeoutMs?: number;
  /** pause between one writer's appends (keeps the final audit short) */
  writerPauseMs?: number;
}

export class Workload {
  readonly appends: AppendRecord[] = [];
  readonly reads: ReadRecord[] = [];
  readonly violations: string[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly clients: MailboxClient[] = [];
  /** queue -> highest seq acknowledged to a writer, and when */
  private readonly maxAcked = new Map<string, number>();
  private counter = 0;
  /** makes payloads unique across workloads sharing a cluster */
  private readonly tag = Math.random().toString(36).slice(2, 8);

  constructor(readonly opts: WorkloadOptions) {}

  private client(): MailboxClient {
    const c = new MailboxClient({ seeds: this.opts.seeds, clusterId: this.opts.clusterId, timeoutMs: this.opts.timeoutMs ?? 8_000, attemptTimeoutMs: 1_500 });
    this.clients.push(c);
    return c;
  }

  private readonly probeQueue = `probe-${this.tag}`;

  async setup(): Promise<void> {
    const c = this.client();
    for (const q of [...this.opts.queues, this.probeQueue]) await c.create(q);
  }

  start(): void {
    this.running = true;
    this.loops.push(this.probe());
    for (let w = 0; w < this.opts.writers; w++) this.loops.push(this.writer(w));
    for (const q of this.opts.queues) for (const r of this.opts.readers) this.loops.push(this.reader(q, r));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  close(): void {
    for (const c of this.clients) c.close();
  }

  ackedCount(): number {
    return this.appends.filter((a) => a.status === 'ok').length;
  }

  private async writer(w: number): Promise<void> {
    const c = this.client();
    while (this.running) {
      const queue = this.opts.queues[this.counter % this.opts.queues.length]!;
      const n = this.counter++;
      const rec: AppendRecord = { queue, clientId: c.clientId, reqId: `w${w}-${n}-${Math.random().toString(36).slice(2, 8)}`, data: `payload-${this.tag}-${w}-${n}`, status: 'unknown' };
      this.appends.push(rec);
      try {
        const r = await c.append(queue, rec.data, rec.reqId);
        rec.status = 'ok';
        rec.seq = r.seq;
        rec.ackedAt = Date.now();
        this.maxAcked.set(queue, Math.max(this.maxAcked.get(queue) ?? 0, r.seq));
        await sleep(this.opts.writerPauseMs ?? 15);
      } catch (err) {
        rec.status = err instanceof MailboxError && !err.outcomeUnknown ? 'failed' : 'unknown';
        await sleep(100);
      }
    }
  }

  /**
   * Read-your-writes probe: one client appends seq k, another client (which may still be talking
   * to a deposed leader) must then read exactly seq k from its position k-1. A stale read shows up
   * as "empty" or an older seq.
   */
  private async probe(): Promise<void> {
    const writer = this.client();
    const reader = this.client();
    let k = 0;
    while (this.running) {
      const data = `probe-${this.tag}-${k + 1}`;
      const reqId = `probe-${this.tag}-${k + 1}`;
      let seq: number | undefined;
      while (seq === undefined) {
        try {
          seq = (await writer.append(this.probeQueue, data, reqId)).seq;
        } catch {
          await sleep(50); // same reqId: settles exactly once
        }
      }
      if (seq !== k + 1) this.violations.push(`probe: append ${reqId} got seq ${seq}, expected ${k + 1}`);
      k = seq;
      let ackMayHaveApplied = false;
      for (let done = false; !done; ) {
        try {
          const r = await reader.read(this.probeQueue, 'probe-reader');
          // an ACK that failed with an unknown outcome may have moved the position past k already
          if ('empty' in r && ackMayHaveApplied) break;
          if ('empty' in r || r.seq !== k || r.data !== data) {
            this.violations.push(`stale read: after seq ${k} was acknowledged, a read returned ${JSON.stringify(r)}`);
            return;
          }
          ackMayHaveApplied = true;
          await reader.ack(this.probeQueue, 'probe-reader', k);
          done = true;
        } catch {
          await sleep(50);
        }
      }
    }
  }

  private async reader(queue: string, clientId: string): Promise<void> {
    const c = this.client();
    let pos = 0; // last seq whose ACK was confirmed
    let maybePos = 0; // last seq whose ACK may have taken effect
    while (this.running) {
      const ackedBefore = this.maxAcked.get(queue) ?? 0;
      try {
        const r = await c.read(queue, clientId);
        if ('empty' in r) {
          if (ackedBefore > maybePos) this.violations.push(`read-your-writes: ${clientId} got empty on ${queue} at position ${maybePos} although seq ${ackedBefore} was acknowledged before the read`);
          await sleep(20);
          continue;
        }
        this.reads.push({ queue, clientId, seq: r.seq, data: r.data });
        if (r.seq !== pos + 1 && r.seq !== maybePos + 1) {
          this.violations.push(`read position: ${clientId} on ${queue} at ${pos}/${maybePos} got seq ${r.seq}`);
        }
        maybePos = Math.max(maybePos, r.seq);
        await c.ack(queue, clientId, r.seq);
        pos = r.seq;
      } catch {
        await sleep(100);
      }
    }
  }
}

/**
 * Resolves every append whose outcome is unknown by retrying it with the same reqId, then reads
 * every queue from the start with a fresh reader and checks the safety properties.
 */
export async function checkHistory(w: Workload, seeds: string[], clusterId: string): Promise<{ violations: string[]; total: number; acked: number }> {
  const violations = [...w.violations];
  const c = new MailboxClient({ seeds, clusterId, timeoutMs: 30_000 });
  try {
    for (const a of w.appends) {
      if (a.status !== 'unknown') continue;
      const r = await c.append(a.queue, a.data, a.reqId, { clientId: a.clientId });
      a.status = 'ok';
      a.seq = r.seq;
    }
    let total = 0;
    for (const queue of w.opts.queues) {
      const auditor = `auditor-${Math.random().toString(36).slice(2)}`;
      const log: string[] = [];
      for (;;) {
        const r = await c.read(queue, auditor);
        if ('empty' in r) break;
        if (r.seq !== log.length + 1) violations.push(`gap/skip in ${queue}: expected seq ${log.length + 1}, got ${r.seq}`);
        log[r.seq - 1] = r.data;
        await c.ack(queue, auditor, r.seq);
      }
      total += log.length;
      const seen = new Map<string, number>();
      log.forEach((data, i) => {
        if (seen.has(data)) violations.push(`duplicate in ${queue}: ${data} at seq ${seen.get(data)} and ${i + 1}`);
        seen.set(data, i + 1);
      });
      for (const a of w.appends.filter((x) => x.queue === queue)) {
        if (a.status === 'ok') {
          if (log[a.seq! - 1] !== a.data) violations.push(`lost acknowledged append ${a.reqId} (${queue} seq ${a.seq}): found ${String(log[a.seq! - 1])}`);
        } else if (a.status === 'failed' && seen.has(a.data)) {
          violations.push(`failed append ${a.reqId} became visible at ${queue} seq ${seen.get(a.data)}`);
        }
      }
      for (const r of w.reads.filter((x) => x.queue === queue)) {
        if (log[r.seq - 1] !== r.data) violations.push(`reader ${r.clientId} saw ${queue} seq ${r.seq} = ${r.data}, final log has ${String(log[r.seq - 1])}`);
      }
    }
    return { violations, total, acked: w.appends.filter((a) => a.status === 'ok').length };
  } finally {
    c.close();
  }
}

/**
 * Runs `fault` while a workload runs against `cluster`, then checks progress after the fault,
 * every safety property, and at most one leader per term across all nodes' event logs.
 */
export async function runUnderLoad(
  cluster: { seeds: string[]; clusterId: string; leadersPerTerm(): Map<number, Set<string>> },
  fault: (w: Workload) => Promise<void>,
  opts: { settleMs?: number; writers?: number; expectProgress?: boolean } = {},
): Promise<{ acked: number; total: number }> {
  const tag = (): string => Math.random().toString(36).slice(2, 10);
  const w = new Workload({ seeds: cluster.seeds, clusterId: cluster.clusterId, queues: [`q-${tag()}`, `box:${tag()}`], writers: opts.writers ?? 4, readers: ['phone', 'laptop'] });
  await w.setup();
  w.start();
  try {
    await sleep(1000);
    await fault(w);
    const before = w.ackedCount();
    // Liveness: with a majority up again, appends must be acknowledged (generous bound: 2 cores).
    const deadline = Date.now() + 30_000;
    while ((opts.expectProgress ?? true) && w.ackedCount() <= before + 5 && Date.now() < deadline) await sleep(100);
    if ((opts.expectProgress ?? true) && w.ackedCount() <= before + 5) w.violations.push('no progress within 30 s after the fault (liveness)');
    await sleep(opts.settleMs ?? 2000);
  } finally {
    await w.stop();
  }
  const result = await checkHistory(w, cluster.seeds, cluster.clusterId);
  w.close();
  for (const [term, leaders] of cluster.leadersPerTerm()) {
    if (leaders.size > 1) result.violations.push(`term ${term} had ${leaders.size} leaders: ${[...leaders].join(', ')}`);
  }
  if (result.violations.length > 0) throw new Error(`safety violations:\n${result.violations.slice(0, 30).join('\n')}`);
  return { acked: result.acked, total: result.total };
}
