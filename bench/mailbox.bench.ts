// Mailbox benchmark: Parley's 3-broker mailbox cluster against a 3-server NATS JetStream cluster
// (replicas 3, file storage) on this machine, side by side. `npm run bench:mailbox [-- --quick]`.
//   --quick               smoke run of a few seconds (numbers are not measurements)
//   --jetstream-only      skip the Parley side
//   --runs N --run-ms MS  closed-loop runs per cell and their length
//   --warmup-ms MS        warm-up before each cell's runs, every system alike (default 2000)
//   --failover N          kills of the leader per system (fast profile and JetStream)
//   --spec-failover N     kills for the spec profile (15 s elections; 0 skips it)
//   --out FILE            JSON output (default bench/results/mailbox.json)
//   --in-flight 1,64      only these in-flight cells (default 1,8,64)
//   --payload 256         only these payload sizes in bytes (default 256,1024)
//   --inbox-append        issue 8's report-only mode: inbox deposits (signed, sealed, through the
//                         inbox policy, as the host's mailbox tier makes them) against JetStream R3
//                         at 1 in flight (`npm run bench:mailbox-inbox`; bench/results/mailbox-inbox.json)
// The Parley side runs the code in this work tree, uncommitted edits included; for a clean figure
// run it from an export of a commit (`git archive HEAD | tar -x -C DIR`, symlink node_modules) and
// set PARLEY_BENCH_COMMIT to record which.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { NATS_SERVER_BINARY } from './mailbox/jetstream';
import { cleanupAll } from './mailbox/procs';
import { baselineLossCheck, evaluateBars, renderInboxReport, renderReport, resultsJson } from './mailbox/report';
import { defaultOptions, runMailboxBench, type BenchOptions } from './mailbox/run';

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} expects a non-negative integer, got ${value}`);
  return n;
}

function parleyRevision(): string {
  if (process.env.PARLEY_BENCH_COMMIT) return process.env.PARLEY_BENCH_COMMIT;
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

function natsVersion(): string {
  try {
    return execFileSync(NATS_SERVER_BINARY, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      'jetstream-only': { type: 'boolean', default: false },
      runs: { type: 'string' },
      'warmup-ms': { type: 'string' },
      'run-ms': { type: 'string' },
      failover: { type: 'string' },
      'spec-failover': { type: 'string' },
      out: { type: 'string' },
      'inbox-append': { type: 'boolean', default: false },
      'in-flight': { type: 'string' },
      payload: { type: 'string' },
    },
  });
  const inboxAppend = values['inbox-append'] === true;
  const base = defaultOptions(values.quick === true);
  const options: BenchOptions = {
    ...base,
    withParley: values['jetstream-only'] !== true,
    runs: Math.max(1, positiveInt('runs', values.runs, base.runs)),
    runMs: Math.max(100, positiveInt('run-ms', values['run-ms'], base.runMs)),
    warmupMs: positiveInt('warmup-ms', values['warmup-ms'], base.warmupMs),
    failoverIterations: positiveInt('failover', values.failover, base.failoverIterations),
    specFailoverIterations: positiveInt('spec-failover', values['spec-failover'], base.specFailoverIterations),
    log: (line) => console.log(line),
    ...(values['in-flight'] !== undefined ? { inFlights: values['in-flight'].split(',').map((v) => Math.max(1, positiveInt('in-flight', v, 1))) } : {}),
    ...(values.payload !== undefined ? { payloadSizes: values.payload.split(',').map((v) => Math.max(1, positiveInt('payload', v, 256))) } : {}),
    ...(inboxAppend ? {
      inboxAppend,
      payloadSizes: [256, 1024],
      inFlights: (values['in-flight'] ?? '1').split(',').map((v) => positiveInt('in-flight', v, 1)),
      failoverIterations: 0,
      specFailoverIterations: 0,
    } : {}),
  };
  const out = resolve(values.out ?? (inboxAppend ? 'bench/results/mailbox-inbox.json' : 'bench/results/mailbox.json'));
  const version = natsVersion();
  console.log(`mailbox benchmark${options.quick ? ' (quick)' : ''}: Parley mailbox vs ${version}, 3 nodes each on 127.0.0.1`);

  const loadBefore = loadavg();
  const results = await runMailboxBench(options);
  if (inboxAppend) {
    const { text, summary } = renderInboxReport(results, options);
    console.log(`\n${text}`);
    const baselineOk = baselineLossCheck(results);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify({
      ...(resultsJson(results, options, [], baselineOk, version, parleyRevision()) as object),
      benchmark: 'mailbox-inbox',
      loadAverage: { before: loadBefore, after: loadavg() },
      summary,
    }, null, 2)}\n`);
    console.log(`\nwrote ${out}`);
    return;
  }
  const bars = evaluateBars(results, options.payloadSizes);
  const baseline = baselineLossCheck(results);
  console.log('');
  console.log(renderReport(results, options, bars, baseline));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(resultsJson(results, options, bars, baseline, version, parleyRevision()), null, 2)}\n`);
  console.log(`\nwrote ${out}`);
}

main().then(
  () => {
    cleanupAll();
    // The nats client and sockets may keep handles open; the results are written, so leave now.
    process.exit(0);
  },
  (error: unknown) => {
    cleanupAll();
    console.error(error);
    process.exit(1);
  },
);
