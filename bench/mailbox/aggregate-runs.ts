// Folds several `bench/mailbox.bench.ts` result files (separate invocations) into one record:
// per cell, the median over invocations of each system's median throughput and of the
// Parley/JetStream ratio measured inside each invocation, with min-max spread, and the load
// average before and after every invocation.
//   tsx bench/mailbox/aggregate-runs.ts OUT.json RUN1.json RUN2.json RUN3.json [--load FILE]
// --load FILE: lines "== run N start|end ... load average: a, b, c" as the wrapper script printed them.
import { readFileSync, writeFileSync } from 'node:fs';

interface Cell { system: string; payloadSize: number; inFlight: number; medianThroughput: number; p50Ms: number; p99Ms: number; loss?: { acknowledged: number; lost: number; corrupted: number; duplicates: number } }
interface Run { date: string; parleyRevision: string; machine: { loadavg: number[] }; cells: Cell[]; bars: { name: string; status: string; detail: string }[] }

const args = process.argv.slice(2);
const loadAt = args.indexOf('--load');
const loadFile = loadAt >= 0 ? args.splice(loadAt, 2)[1] : undefined;
const [out, ...files] = args;
if (!out || files.length === 0) throw new Error('usage: aggregate-runs.ts OUT.json RUN.json...');
const runs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Run);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const spread = (xs: number[]) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), values: xs });

const keys = new Map<string, { payloadSize: number; inFlight: number }>();
for (const r of runs) for (const c of r.cells) keys.set(`${c.payloadSize}x${c.inFlight}`, { payloadSize: c.payloadSize, inFlight: c.inFlight });
const summary = [...keys.values()].map(({ payloadSize, inFlight }) => {
  const pick = (r: Run, system: string) => r.cells.find((c) => c.system === system && c.payloadSize === payloadSize && c.inFlight === inFlight);
  const row: Record<string, unknown> = { payloadSize, inFlight };
  for (const system of ['jetstream', 'parley-normal', 'parley-full']) {
    const cells = runs.map((r) => pick(r, system)).filter((c): c is Cell => c !== undefined);
    if (cells.length === 0) continue;
    row[system] = {
      appendsPerSec: spread(cells.map((c) => c.medianThroughput)),
      p50Ms: spread(cells.map((c) => c.p50Ms)),
      p99Ms: spread(cells.map((c) => c.p99Ms)),
      acknowledged: cells.reduce((s, c) => s + (c.loss?.acknowledged ?? 0), 0),
      lost: cells.reduce((s, c) => s + (c.loss ? c.loss.lost + c.loss.corrupted + c.loss.duplicates : Number.NaN), 0),
    };
    if (system !== 'jetstream') {
      const ratios = runs.map((r) => {
        const p = pick(r, system);
        const j = pick(r, 'jetstream');
        return p && j ? p.medianThroughput / j.medianThroughput : Number.NaN;
      }).filter(Number.isFinite);
      row[`${system}/jetstream`] = spread(ratios);
    }
  }
  return row;
});

const load = loadFile
  ? readFileSync(loadFile, 'utf8').split('\n').filter((l) => l.startsWith('== run')).map((l) => ({
      line: l.replace(/^== /, '').replace(/ uptime:.*$/, ''),
      loadAverage: (l.match(/load average: ([\d.]+), ([\d.]+), ([\d.]+)/) ?? []).slice(1).map(Number),
    }))
  : runs.map((r) => ({ line: r.date, loadAverage: r.machine.loadavg }));

writeFileSync(out, `${JSON.stringify({
  benchmark: 'mailbox-issue11',
  note: 'Separate invocations of bench/mailbox.bench.ts; ratios are Parley / JetStream R3 inside each invocation (runs interleaved), then the median over invocations with min-max. JetStream 2.9 does not fsync each write (no sync_interval option in 2.9; later versions default to 2 min), so the like-for-like figure is Parley normal (SQLite WAL, synchronous=NORMAL, no fsync); Parley full fsyncs every write on every node.',
  parleyRevision: [...new Set(runs.map((r) => r.parleyRevision))].join(','),
  dates: runs.map((r) => r.date),
  load,
  summary,
  bars: runs.map((r) => r.bars.filter((b) => b.name.startsWith('issue 11') || b.name.includes('zero lost'))),
  runs,
}, null, 2)}\n`);
console.log(JSON.stringify(summary, (k, v) => (k === 'values' ? undefined : typeof v === 'number' ? Math.round(v * 100) / 100 : v), 1));
