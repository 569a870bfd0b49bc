// Side-by-side tables (Parley / JetStream ratios), the issue's pass/fail bars, and the JSON record.
import { cpus, loadavg } from 'node:os';
import { lossFree, type LossReport } from './ledger';
import type { BenchOptions, BenchResults, CellResult, FailoverSummary, SystemKey } from './run';

export type BarStatus = 'PASS' | 'FAIL' | 'N/A';

export interface Bar {
  name: string;
  status: BarStatus;
  detail: string;
}

const FAST_FAILOVER_P99_LIMIT_MS = 2000;
const NORMAL_VS_JETSTREAM_MIN_RATIO = 0.5;
const FULL_MIN_THROUGHPUT = 1000;
const BAR_IN_FLIGHT = 64;
/** Issue 11: Parley normal (no fsync, like JetStream 2.9) against JetStream R3 at 1 and 64 in flight. */
const ISSUE11_BARS: { inFlight: number; minRatio: number }[] = [
  { inFlight: 1, minRatio: 0.7 },
  { inFlight: 64, minRatio: 0.9 },
];

function cell(results: BenchResults, system: SystemKey, payloadSize: number, inFlight: number): CellResult | undefined {
  return results.cells.find((c) => c.system === system && c.payloadSize === payloadSize && c.inFlight === inFlight);
}

function usable(c: CellResult): boolean {
  return c.error === undefined && Number.isFinite(c.medianThroughput) && c.medianThroughput > 0;
}

function allLossReports(results: BenchResults, parley: boolean): { where: string; report?: LossReport; error?: string }[] {
  const isParley = (key: string): boolean => key.startsWith('parley');
  return [
    ...results.cells
      .filter((c) => isParley(c.system) === parley)
      .map((c) => ({ where: `${c.label} ${c.payloadSize} B x${c.inFlight}`, report: c.loss, error: c.error })),
    ...results.failover
      .filter((f) => isParley(f.system) === parley)
      .map((f) => ({ where: `${f.label} failover`, report: f.loss, error: f.error })),
  ];
}

function zeroLossBar(results: BenchResults, parley: boolean, name: string): Bar {
  const reports = allLossReports(results, parley);
  if (reports.length === 0) return { name, status: 'N/A', detail: 'not run' };
  const bad = reports.filter((r) => r.report === undefined || !lossFree(r.report));
  const acked = reports.reduce((sum, r) => sum + (r.report?.acknowledged ?? 0), 0);
  if (bad.length === 0) return { name, status: 'PASS', detail: `${acked} acknowledged appends in ${reports.length} runs, all read back intact` };
  const first = bad[0];
  const why = first?.report ? `${first.report.lost} lost, ${first.report.duplicates} duplicated, ${first.report.corrupted} corrupted` : `not verified (${first?.error ?? 'no report'})`;
  return { name, status: 'FAIL', detail: `${bad.length} of ${reports.length} runs failed; first: ${first?.where}: ${why}` };
}

export function evaluateBars(results: BenchResults, payloadSizes: number[]): Bar[] {
  const bars: Bar[] = [zeroLossBar(results, true, 'Parley: zero lost acknowledged appends (every run)')];

  const fast = results.failover.find((f) => f.system === 'parley-fast');
  if (fast === undefined || fast.iterations === 0) {
    const detail = fast === undefined ? 'not run' : (fast.error ?? 'no kill completed');
    bars.push({ name: `Parley fast failover p99 < ${FAST_FAILOVER_P99_LIMIT_MS} ms`, status: 'N/A', detail });
  } else {
    const ok = fast.p99Ms < FAST_FAILOVER_P99_LIMIT_MS && fast.timedOut === 0 && fast.error === undefined;
    bars.push({
      name: `Parley fast failover p99 < ${FAST_FAILOVER_P99_LIMIT_MS} ms`,
      status: ok ? 'PASS' : 'FAIL',
      detail: `p99 ${fast.p99Ms.toFixed(0)} ms over ${fast.iterations} kills${fast.timedOut ? `, ${fast.timedOut} timed out` : ''}${fast.error ? `, error: ${fast.error}` : ''}`,
    });
  }

  for (const size of payloadSizes) {
    const normal = cell(results, 'parley-normal', size, BAR_IN_FLIGHT);
    const js = cell(results, 'jetstream', size, BAR_IN_FLIGHT);
    const name = `Parley normal (no fsync) >= ${NORMAL_VS_JETSTREAM_MIN_RATIO}x JetStream at ${BAR_IN_FLIGHT} in flight, ${size} B`;
    if (normal === undefined || js === undefined || !usable(normal) || !usable(js)) {
      bars.push({ name, status: 'N/A', detail: normal?.error ?? js?.error ?? 'not run' });
    } else {
      const ratio = normal.medianThroughput / js.medianThroughput;
      bars.push({
        name,
        status: ratio >= NORMAL_VS_JETSTREAM_MIN_RATIO ? 'PASS' : 'FAIL',
        detail: `${normal.medianThroughput.toFixed(0)} vs ${js.medianThroughput.toFixed(0)} appends/s = ${ratio.toFixed(2)}x`,
      });
    }
  }
  for (const size of payloadSizes) {
    for (const { inFlight, minRatio } of ISSUE11_BARS) {
      const normal = cell(results, 'parley-normal', size, inFlight);
      const js = cell(results, 'jetstream', size, inFlight);
      const name = `issue 11: Parley normal (no fsync) >= ${minRatio}x JetStream R3 at ${inFlight} in flight, ${size} B`;
      if (normal === undefined || js === undefined || !usable(normal) || !usable(js)) {
        bars.push({ name, status: 'N/A', detail: normal?.error ?? js?.error ?? 'not run' });
        continue;
      }
      const r = normal.medianThroughput / js.medianThroughput;
      const full = cell(results, 'parley-full', size, inFlight);
      const fullNote = full && usable(full) ? `; Parley full (fsync every write, no JetStream 2.9 equivalent) ${(full.medianThroughput / js.medianThroughput).toFixed(2)}x` : '';
      bars.push({
        name,
        status: r >= minRatio ? 'PASS' : 'FAIL',
        detail: `${normal.medianThroughput.toFixed(0)} vs ${js.medianThroughput.toFixed(0)} appends/s = ${r.toFixed(2)}x${fullNote}`,
      });
    }
  }
  for (const size of payloadSizes) {
    const full = cell(results, 'parley-full', size, BAR_IN_FLIGHT);
    const name = `Parley full (fsync) >= ${FULL_MIN_THROUGHPUT} appends/s at ${BAR_IN_FLIGHT} in flight, ${size} B`;
    if (full === undefined || !usable(full)) {
      bars.push({ name, status: 'N/A', detail: full?.error ?? 'not run' });
    } else {
      bars.push({
        name,
        status: full.medianThroughput >= FULL_MIN_THROUGHPUT ? 'PASS' : 'FAIL',
        detail: `${full.medianThroughput.toFixed(0)} appends/s`,
      });
    }
  }
  return bars;
}

/** Not a bar from the issue, but a baseline that loses data would make every ratio meaningless. */
export function baselineLossCheck(results: BenchResults): Bar {
  return zeroLossBar(results, false, 'JetStream baseline: zero lost acknowledged appends');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const ratio = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : '-');

export function renderReport(results: BenchResults, options: BenchOptions, bars: Bar[], baseline: Bar): string {
  const out: string[] = [];
  const systems: { key: SystemKey; label: string }[] = [
    { key: 'jetstream', label: 'JetStream' },
    { key: 'parley-normal', label: 'Parley normal' },
    { key: 'parley-full', label: 'Parley full' },
  ];
  const present = systems.filter((s) => results.cells.some((c) => c.system === s.key));
  const sizes = options.payloadSizes;
  const flights = options.inFlights;

  out.push(`Throughput, appends/s (median of ${options.runs} closed-loop run(s) of ${options.runMs} ms; ratio = Parley / JetStream)`);
  {
    const header = ['payload x in flight', ...present.flatMap((s) => (s.key === 'jetstream' ? [s.label] : [s.label, 'ratio']))];
    const rows = sizes.flatMap((size) =>
      flights.map((inFlight) => {
        const js = cell(results, 'jetstream', size, inFlight);
        return [
          `${size} B x ${inFlight}`,
          ...present.flatMap((s) => {
            const c = cell(results, s.key, size, inFlight);
            const v = c && !c.error ? c.medianThroughput : Number.NaN;
            return s.key === 'jetstream' ? [fmt(v)] : [fmt(v), ratio(v, js && !js.error ? js.medianThroughput : Number.NaN)];
          }),
        ];
      }),
    );
    out.push(table(header, rows));
  }

  out.push('', 'Latency per append, ms (HDR histogram over all measured runs): p50 / p99');
  {
    const header = ['payload x in flight', ...present.map((s) => s.label), ...present.filter((s) => s.key !== 'jetstream').map((s) => `${s.label} p99 ratio`)];
    const rows = sizes.flatMap((size) =>
      flights.map((inFlight) => {
        const js = cell(results, 'jetstream', size, inFlight);
        return [
          `${size} B x ${inFlight}`,
          ...present.map((s) => {
            const c = cell(results, s.key, size, inFlight);
            return c && !c.error ? `${fmt(c.p50Ms, 2)} / ${fmt(c.p99Ms, 2)}` : 'error';
          }),
          ...present
            .filter((s) => s.key !== 'jetstream')
            .map((s) => ratio(cell(results, s.key, size, inFlight)?.p99Ms ?? Number.NaN, js?.p99Ms ?? Number.NaN)),
        ];
      }),
    );
    out.push(table(header, rows));
  }

  if (results.failover.length > 0) {
    out.push('', `Failover: kill -9 of the leader under load (${options.failoverInFlight} appends in flight), unavailability window in ms (workers pause 20 ms between appends; a probe append starts every 25 ms)`);
    const js = results.failover.find((f) => f.system === 'jetstream');
    const rows = results.failover.map((f) => [
      `${f.label} (${f.system})`,
      String(f.iterations),
      fmt(f.p50Ms),
      fmt(f.p99Ms),
      fmt(f.maxMs),
      f.system === 'jetstream' ? '' : ratio(f.p99Ms, js?.p99Ms ?? Number.NaN),
      String(f.timedOut),
      f.loss ? `${f.loss.lost}` : 'n/v',
      [f.note, f.error].filter(Boolean).join('; '),
    ]);
    out.push(table(['system', 'kills', 'p50', 'p99', 'max', 'p99 ratio', 'timed out', 'lost', 'note'], rows));
  }

  out.push('', 'Read-back check (every acknowledged seq read back and compared byte for byte)');
  {
    const rows = [
      ...results.cells.map((c) => [`${c.label} ${c.payloadSize} B x${c.inFlight}`, c.loss, c.error] as const),
      ...results.failover.map((f) => [`${f.label} failover`, f.loss, f.error] as const),
    ].map(([where, loss, error]) =>
      loss
        ? [where, String(loss.acknowledged), String(loss.stored), String(loss.lost), String(loss.duplicates), String(loss.corrupted), String(loss.unacknowledgedButStored), lossFree(loss) ? 'ok' : 'LOSS']
        : [where, '-', '-', '-', '-', '-', '-', `not verified${error ? `: ${error}` : ''}`],
    );
    out.push(table(['run', 'acked', 'stored', 'lost', 'dup', 'corrupt', 'unacked-stored', 'result'], rows));
  }

  out.push('', 'Bars (issues 4 and 11)');
  for (const bar of bars) out.push(`  [${bar.status}] ${bar.name}: ${bar.detail}`);
  out.push(`  [${baseline.status}] ${baseline.name} (baseline sanity): ${baseline.detail}`);
  if (results.skipped.length > 0) {
    out.push('', 'Skipped / reduced:');
    for (const s of results.skipped) out.push(`  - ${s}`);
  }
  out.push(
    '',
    `Note: ${cpus().length} cores shared with other jobs (load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the end); ` +
      'all three systems ran on the same loopback in one process tree, runs interleaved across systems, so ratios are more trustworthy than absolute figures, ' +
      'and figures move by tens of percent between invocations.' +
      (options.quick ? ' QUICK MODE: smoke-run durations, the numbers are not measurements.' : ''),
  );
  return out.join('\n');
}

export function resultsJson(results: BenchResults, options: BenchOptions, bars: Bar[], baseline: Bar, natsVersion: string, parleyRevision: string): unknown {
  const { log: _log, ...opts } = options;
  return {
    benchmark: 'mailbox',
    date: new Date().toISOString(),
    machine: { cores: cpus().length, loadavg: loadavg(), node: process.version, natsServer: natsVersion },
    parleyRevision,
    options: opts,
    note: 'Shared 2-core machine: absolute figures are noisy; compare the ratios measured in this run.',
    cells: results.cells,
    failover: results.failover,
    bars,
    baseline,
    skipped: results.skipped,
  };
}

export type { FailoverSummary };

/**
 * Inbox-append mode (issue 8, report only): latency per append at each in-flight count, the
 * median over runs with min/max, and the ratio to JetStream (same plaintext size, and at the
 * sealed deposit's size) per run.
 */
export function renderInboxReport(results: BenchResults, options: BenchOptions): { text: string; summary: InboxSummaryRow[] } {
  const summary: InboxSummaryRow[] = [];
  const rows: string[][] = [];
  for (const size of options.payloadSizes) {
    for (const inFlight of options.inFlights) {
      const js = cell(results, 'jetstream', size, inFlight);
      const jsSealed = results.cells.find((c) => c.system === 'jetstream' && c.textSize === size && c.inFlight === inFlight);
      const entries: [string, CellResult | undefined][] = [
        ['JetStream R3', js],
        [jsSealed ? `JetStream R3 at ${jsSealed.payloadSize} B (sealed size)` : 'JetStream R3 at sealed size', jsSealed],
        ['Parley plain append, no fsync', cell(results, 'parley-normal', size, inFlight)],
        ['Parley inbox deposit, no fsync', cell(results, 'parley-inbox-normal', size, inFlight)],
        ['Parley inbox deposit, fsync', cell(results, 'parley-inbox', size, inFlight)],
      ];
      for (const [label, c] of entries) {
        if (!c) continue;
        const p50s = c.runs.map((r) => r.p50Ms);
        const perRunRatio = (base: CellResult | undefined): number[] =>
          base ? c.runs.map((r, i) => r.p50Ms / (base.runs[i]?.p50Ms ?? Number.NaN)).filter(Number.isFinite) : [];
        const med = (xs: number[]): number => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : Number.NaN);
        const row: InboxSummaryRow = {
          textBytes: size, inFlight, system: label, payloadBytes: c.payloadSize,
          p50MsMedian: med(p50s), p50MsMin: Math.min(...p50s), p50MsMax: Math.max(...p50s), p99Ms: c.p99Ms,
          appendsPerSecMedian: c.medianThroughput,
          ratioToJetStreamP50: med(perRunRatio(js)), ratioToJetStreamSealedP50: med(perRunRatio(jsSealed)),
          error: c.error,
        };
        summary.push(row);
        rows.push([
          `${size} B x ${inFlight}`, label, String(c.payloadSize),
          c.error && c.runs.length === 0 ? 'error' : `${fmt(row.p50MsMedian, 2)} [${fmt(row.p50MsMin, 2)}–${fmt(row.p50MsMax, 2)}]`,
          fmt(c.p99Ms, 2), fmt(c.medianThroughput), fmt(row.ratioToJetStreamP50, 2), fmt(row.ratioToJetStreamSealedP50, 2),
        ]);
      }
    }
  }
  const out = [
    `Inbox append latency (median of ${options.runs} closed-loop runs of ${options.runMs} ms, interleaved; ratio = p50 / JetStream p50 of the same run)`,
    table(['text x in flight', 'system', 'bytes', 'p50 ms median [min–max]', 'p99 ms', 'appends/s', 'x JetStream', 'x JetStream sealed'], rows),
    '',
    'Read-back check (every acknowledged seq read back, inbox deposits opened by the recipient, compared byte for byte)',
    table(['run', 'acked', 'stored', 'lost', 'dup', 'corrupt', 'result'], results.cells.map((c) => {
      const l = c.loss;
      return l ? [`${c.label} ${c.payloadSize} B x${c.inFlight}`, String(l.acknowledged), String(l.stored), String(l.lost), String(l.duplicates), String(l.corrupted), lossFree(l) ? 'ok' : 'LOSS']
        : [`${c.label} ${c.payloadSize} B x${c.inFlight}`, '-', '-', '-', '-', '-', `not verified${c.error ? `: ${c.error}` : ''}`];
    })),
    ...(results.skipped.length ? ['', 'Skipped:', ...results.skipped.map((s) => `  - ${s}`)] : []),
    '',
    `Report only (no bar). JetStream 2.9 has no per-write fsync, so compare it with the no-fsync rows. Inbox deposits include the client's signing and sealing, as the host's mailbox tier does them; the inbox policy's rate limit and caps are raised for the run. ${cpus().length} cores shared (load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the end).`,
  ];
  return { text: out.join('\n'), summary };
}

export interface InboxSummaryRow {
  textBytes: number;
  inFlight: number;
  system: string;
  payloadBytes: number;
  p50MsMedian: number;
  p50MsMin: number;
  p50MsMax: number;
  p99Ms: number;
  appendsPerSecMedian: number;
  ratioToJetStreamP50: number;
  ratioToJetStreamSealedP50: number;
  error?: string;
}
