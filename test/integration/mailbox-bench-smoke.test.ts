// Smoke run of the mailbox benchmark (`bench/mailbox.bench.ts --quick`) as a child process: every
// system it ran must produce sane non-zero figures and lose nothing it acknowledged, and it must leave
// no process or temp dir behind. Parley's side is required only when its code is present; JetStream
// always runs. Never asserts on speed.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parleyUnavailableReason } from '../../bench/mailbox/parley';

const REPO = resolve(import.meta.dirname, '..', '..');

const LossSchema = z.object({
  acknowledged: z.number(),
  stored: z.number(),
  lost: z.number(),
  corrupted: z.number(),
  duplicates: z.number(),
  conflictingAcks: z.number(),
});
const RunSchema = z.object({ appends: z.number(), errors: z.number(), elapsedMs: z.number(), throughput: z.number() });
const CellSchema = z.object({
  system: z.string(),
  payloadSize: z.number(),
  inFlight: z.number(),
  runs: z.array(RunSchema),
  medianThroughput: z.number().nullable(),
  p50Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
  loss: LossSchema.optional(),
  error: z.string().optional(),
});
const FailoverSchema = z.object({
  system: z.string(),
  iterations: z.number(),
  windowsMs: z.array(z.number()),
  timedOut: z.number(),
  loss: LossSchema.optional(),
  error: z.string().optional(),
});
const ResultsSchema = z.object({
  benchmark: z.literal('mailbox'),
  options: z.object({ quick: z.boolean(), payloadSizes: z.array(z.number()), inFlights: z.array(z.number()) }),
  cells: z.array(CellSchema),
  failover: z.array(FailoverSchema),
  bars: z.array(z.object({ name: z.string(), status: z.enum(['PASS', 'FAIL', 'N/A']), detail: z.string() })),
  skipped: z.array(z.string()),
});
type Results = z.infer<typeof ResultsSchema>;
type Loss = z.infer<typeof LossSchema>;

function processesMentioning(text: string): string[] {
  const hits: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(text)) hits.push(`${pid}: ${cmdline}`);
    } catch {
      // exited while we looked
    }
  }
  return hits;
}

function expectNoLoss(loss: Loss | undefined, where: string): void {
  expect(loss, `${where}: read-back report`).toBeDefined();
  if (!loss) return;
  expect(loss.acknowledged, `${where}: acknowledged appends`).toBeGreaterThan(0);
  expect(loss.lost, `${where}: lost`).toBe(0);
  expect(loss.corrupted, `${where}: corrupted`).toBe(0);
  expect(loss.duplicates, `${where}: duplicates`).toBe(0);
  expect(loss.conflictingAcks, `${where}: conflicting acks`).toBe(0);
  expect(loss.stored, `${where}: stored >= acknowledged`).toBeGreaterThanOrEqual(loss.acknowledged);
}

describe('mailbox benchmark, quick mode', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'parley-bench-smoke-'));
  // The harness makes its temp dirs under TMPDIR, so none left afterwards proves it cleaned up.
  const childTmp = join(scratch, 'tmp');
  const out = join(scratch, 'mailbox.json');
  const parleyExpected = parleyUnavailableReason() === undefined;
  let exitCode: number | null = null;
  let output = '';
  let results: Results;

  beforeAll(async () => {
    await import('node:fs/promises').then((fs) => fs.mkdir(childTmp));
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/mailbox.bench.ts', '--quick', '--out', out], {
      cwd: REPO,
      env: { ...process.env, TMPDIR: childTmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    exitCode = await new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    if (existsSync(out)) results = ResultsSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
  }, 600_000);

  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('exits 0 and writes its JSON record', () => {
    expect(exitCode, output.slice(-3000)).toBe(0);
    expect(results, 'results JSON').toBeDefined();
    expect(results.options.quick).toBe(true);
    expect(output).toContain('Bars (issues 4 and 11)');
  });

  it('measures JetStream in every cell with sane figures and no loss', () => {
    const js = results.cells.filter((c) => c.system === 'jetstream');
    expect(js.length).toBe(results.options.payloadSizes.length * results.options.inFlights.length);
    for (const c of js) {
      const where = `jetstream ${c.payloadSize} B x${c.inFlight}`;
      expect(c.error, where).toBeUndefined();
      expect(c.runs.length, where).toBeGreaterThan(0);
      expect(c.medianThroughput ?? 0, where).toBeGreaterThan(0);
      expect(c.p50Ms ?? 0, where).toBeGreaterThan(0);
      expect(c.p99Ms ?? 0, where).toBeGreaterThanOrEqual(c.p50Ms ?? Number.POSITIVE_INFINITY);
      expectNoLoss(c.loss, where);
    }
    const failover = results.failover.find((f) => f.system === 'jetstream');
    expect(failover?.error).toBeUndefined();
    expect(failover?.iterations ?? 0).toBeGreaterThan(0);
    for (const w of failover?.windowsMs ?? []) expect(w).toBeGreaterThan(0);
    expectNoLoss(failover?.loss, 'jetstream failover');
  });

  it('measures Parley the same way when its cluster is present, and otherwise says why it was skipped', () => {
    const parley = results.cells.filter((c) => c.system.startsWith('parley'));
    if (!parleyExpected) {
      expect(parley).toEqual([]);
      expect(results.skipped.some((s) => s.startsWith('Parley'))).toBe(true);
      return;
    }
    expect(parley.length).toBe(2 * results.options.payloadSizes.length * results.options.inFlights.length);
    for (const c of parley) {
      const where = `${c.system} ${c.payloadSize} B x${c.inFlight}`;
      expect(c.error, where).toBeUndefined();
      expect(c.medianThroughput ?? 0, where).toBeGreaterThan(0);
      expect(c.p50Ms ?? 0, where).toBeGreaterThan(0);
      expectNoLoss(c.loss, where);
    }
    const fast = results.failover.find((f) => f.system === 'parley-fast');
    expect(fast?.error).toBeUndefined();
    expect(fast?.iterations ?? 0).toBeGreaterThan(0);
    expectNoLoss(fast?.loss, 'parley fast failover');
    const lossBar = results.bars.find((b) => b.name.startsWith('Parley: zero lost'));
    expect(lossBar?.status).toBe('PASS');
  });

  it('leaves no server process or temp dir behind', () => {
    // (tsx keeps its compile cache in TMPDIR too: only the harness's own dirs count.)
    expect(readdirSync(childTmp).filter((name) => name.startsWith('parley-bench-'))).toEqual([]);
    expect(processesMentioning(childTmp)).toEqual([]);
  });
});
