/**
 * Registry throughput: `GET /network/{id}/peer/{userId}` and signed `POST …/announce`, on SQLite
 * and on PostgreSQL, against fastify's empty route measured in the same run (same process, same
 * load generator, same keep-alive connections). Median of 3 runs with spread and load average;
 * writes bench/results/registry.json.
 * Run: npx tsx bench/registry.bench.ts [seconds-per-cell] [connections]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import { nodeSigner } from '../src/main/crypto/node-signer';
import { RegistryClient } from '../src/main/registry/registry-client';
import { generateIdentity } from '../src/shared/identity';
import { signAnnounce } from '../src/shared/schemas/registry';
import { dropPostgresSchema } from '../src/server/registry/db';
import { startRegistryServer, type RegistryServerHandle } from '../src/server/registry/registry-server';

const SECONDS = Number(process.argv[2] ?? 2);
const CONNECTIONS = Number(process.argv[3] ?? 16);
const RUNS = 3;
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NO_LIMIT = { requestsPerWindow: 1e9, authRequestsPerWindow: 1e9 };

interface Target {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  /** A fresh body per request (announces carry increasing signed timestamps). */
  body?: () => string;
}

/** Requests/s of CONNECTIONS concurrent keep-alive loops for SECONDS; non-2xx answers are counted as errors. */
async function measure(target: Target): Promise<{ rps: number; errors: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const until = performance.now() + SECONDS * 1000;
  let done = 0;
  let errors = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const body = target.body?.();
      const req = request(target.url, {
        method: target.method,
        agent,
        headers: { ...target.headers, ...(body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}) },
      }, (res) => {
        res.resume();
        res.on('end', () => {
          if ((res.statusCode ?? 500) >= 300) errors++;
          else done++;
          resolve();
        });
      });
      req.setNoDelay(true);
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const start = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    while (performance.now() < until) await one();
  }));
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  return { rps: Math.round(done / elapsed), errors };
}

async function registryTargets(server: RegistryServerHandle): Promise<{ peer: Target; announce: Target }> {
  const me = generateIdentity();
  const client = new RegistryClient({ baseUrl: server.url, identity: me, signer: nodeSigner });
  const token = await client.getToken();
  await client.announce('parley', { deviceId: 'bench-dev', signalAddr: 'ws://127.0.0.1:18885/bench-dev', canRelay: true, coordinator: false });
  const headers = { authorization: `Bearer ${token}` };
  // Pre-signed announces with increasing timestamps, so the load generator measures the registry, not signing.
  const base = Date.now();
  const bodies = Array.from({ length: 60_000 }, (_, i) =>
    JSON.stringify(signAnnounce({ networkId: 'parley', deviceId: 'bench-dev', signalAddr: 'ws://127.0.0.1:18885/bench-dev', canRelay: true, coordinator: false, ts: base + i }, me, nodeSigner)),
  );
  let next = 0;
  return {
    peer: { method: 'GET', url: `${server.url}/network/parley/peer/${me.userId}`, headers },
    announce: { method: 'POST', url: `${server.url}/network/parley/announce`, headers, body: () => bodies[next++ % bodies.length]! },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const load = { before: loadavg().map((x) => Math.round(x * 100) / 100), after: [] as number[] };
  const empty = Fastify({ logger: false });
  empty.get('/empty', async () => ({}));
  await empty.listen({ port: 0, host: '127.0.0.1' });
  const emptyUrl = `http://127.0.0.1:${(empty.server.address() as { port: number }).port}/empty`;

  const dir = mkdtempSync(join(tmpdir(), 'parley-registry-bench-'));
  const schema = `registry_bench_${randomBytes(4).toString('hex')}`;
  const sqlite = await startRegistryServer({ port: 0, dataDir: dir, limits: NO_LIMIT });
  const postgres = await startRegistryServer({ port: 0, databaseUrl: DATABASE_URL, databaseSchema: schema, limits: NO_LIMIT });
  const targets: Record<string, Target> = { empty: { method: 'GET', url: emptyUrl, headers: {} } };
  for (const [name, server] of [['sqlite', sqlite], ['postgres', postgres]] as const) {
    const t = await registryTargets(server);
    targets[`${name}.getPeer`] = t.peer;
    targets[`${name}.announce`] = t.announce;
  }

  const runs: Array<Record<string, { rps: number; errors: number }>> = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      const results: Record<string, { rps: number; errors: number }> = {};
      // Interleaved: every cell of one run sees the same machine load.
      for (const [name, target] of Object.entries(targets)) {
        results[name] = await measure(target);
        process.stderr.write(`run ${run + 1} ${name}: ${results[name]!.rps} req/s (${results[name]!.errors} errors)\n`);
      }
      runs.push(results);
    }
  } finally {
    load.after = loadavg().map((x) => Math.round(x * 100) / 100);
    await Promise.all([sqlite.close(), postgres.close(), empty.close()]);
    await dropPostgresSchema(DATABASE_URL, schema);
    rmSync(dir, { recursive: true, force: true });
  }

  const cells: Record<string, unknown> = {};
  const emptyRuns = runs.map((r) => r.empty!.rps);
  for (const name of Object.keys(targets)) {
    const rps = runs.map((r) => r[name]!.rps);
    const ratios = runs.map((r) => r[name]!.rps / r.empty!.rps);
    cells[name] = {
      medianRps: median(rps),
      spreadRps: [Math.min(...rps), Math.max(...rps)],
      ratioToEmptyRoute: Math.round(median(ratios) * 1000) / 1000,
      ratioSpread: [Math.round(Math.min(...ratios) * 1000) / 1000, Math.round(Math.max(...ratios) * 1000) / 1000],
      errors: runs.reduce((n, r) => n + r[name]!.errors, 0),
      runs: rps,
    };
  }
  const result = {
    bench: 'registry',
    at: new Date().toISOString(),
    setup: `${CONNECTIONS} keep-alive connections, ${SECONDS} s per cell, ${RUNS} interleaved runs; server and load generator in one process; rate limiter on (limit out of reach), PostgreSQL 127.0.0.1:5432`,
    loadAverage: load,
    emptyRouteRps: emptyRuns,
    cells,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/registry.json', `${JSON.stringify(result, null, 2)}\n`);
  for (const [name, cell] of Object.entries(cells) as Array<[string, { medianRps: number; spreadRps: number[]; ratioToEmptyRoute: number }]>) {
    console.log(`${name.padEnd(18)} ${String(cell.medianRps).padStart(7)} req/s  (spread ${cell.spreadRps.join('–')})  ${cell.ratioToEmptyRoute}x empty route`);
  }
  console.log(`load average before ${load.before.join(' ')}, after ${load.after.join(' ')}`);
}

await main();
