/**
 * Ed25519 throughput: tweetnacl (baseline, the renderer's), OpenSSL via node:crypto and libsodium
 * via sodium-native (the host's when installed), side by side in one run, each row measured in
 * --runs interleaved rounds (median and spread), plus the full decodeEnvelope verify path and
 * nacl.box seal/open. Writes bench/results/crypto.json.
 *   npx tsx bench/crypto.bench.ts [--seconds 1] [--max-ops 20000] [--runs 3]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { nodeSigner, nodeSignerName, opensslSigner, sodiumSigner } from '../src/main/crypto/node-signer';
import { jsSharedKey, openFrom, sealTo } from '../src/shared/box';
import { nativeSharedKey } from '../src/main/crypto/native-box';
import { naclSigner, type Signer } from '../src/shared/crypto';
import { utf8 } from '../src/shared/encoding';
import { decodeEnvelope, encodeEnvelope, signEnvelope, signedBytes } from '../src/shared/envelope';
import { generateIdentity } from '../src/shared/identity';
import { ReplayGuard } from '../src/shared/replay';
import { median } from './lib/stats';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}
const SECONDS = arg('seconds', 1);
const RUNS = Math.max(3, Math.round(arg('runs', 3)));
const MAX_OPS = arg('max-ops', 20_000);
const MIN_OPS = 20;

interface Measurement { ops: number; seconds: number; opsPerSec: number }

/** Runs `op` until SECONDS elapse or MAX_OPS are done (at least MIN_OPS), after a short warm-up. */
function measure(op: (i: number) => void): Measurement {
  for (let i = 0; i < 10; i++) op(i);
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(SECONDS * 1e9));
  let ops = 0;
  while (ops < MAX_OPS && (ops < MIN_OPS || process.hrtime.bigint() < deadline)) op(ops++);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { ops, seconds: round(seconds, 3), opsPerSec: round(ops / seconds, 1) };
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

const alice = generateIdentity();
const bob = generateIdentity();
const NOW = Date.now();
const sample = signEnvelope({ type: 'CHAT_MESSAGE', to: bob.userId, body: { text: 'Hello Carol! '.repeat(8), sentAt: NOW }, ts: NOW }, alice, nodeSigner);
const message = signedBytes(sample);
const signature = nodeSigner.sign(message, alice.secretKey);

// Distinct envelopes (distinct ids) so the replay guard accepts each one.
function envelopes(count: number): string[] {
  return Array.from({ length: count }, () =>
    encodeEnvelope(signEnvelope({ type: 'CHAT_MESSAGE', to: bob.userId, body: sample.body, ts: NOW }, alice, nodeSigner)),
  );
}

function decodeBench(signer: Signer, frames: string[]): Measurement {
  const replay = new ReplayGuard({ windowMs: 10 * 60_000, maxEntries: 1_000_000 });
  let failures = 0;
  let n = 0;
  const m = measure(() => {
    const frame = frames[n % frames.length]!;
    // Past the pool size ids repeat, so the replay check is left out for those.
    const result = decodeEnvelope(frame, { self: bob.userId, signer, replay: n < frames.length ? replay : undefined });
    n++;
    if (!result.ok) failures++;
  });
  if (failures) throw new Error(`decodeEnvelope rejected ${failures} valid frames`);
  return m;
}

console.log(`crypto bench: up to ${SECONDS}s or ${MAX_OPS} ops per row, message ${message.length} B, envelope ${encodeEnvelope(sample).length} B`);
const frames = envelopes(Math.min(MAX_OPS, 20_000));

const signers: Array<{ name: string; signer: Signer }> = [
  { name: 'tweetnacl', signer: naclSigner },
  { name: 'openssl', signer: opensslSigner },
  ...(sodiumSigner ? [{ name: 'libsodium', signer: sodiumSigner }] : []),
];
const operations: Array<{ name: string; run(signer: Signer): Measurement }> = [
  { name: 'sign', run: (signer) => measure(() => signer.sign(message, alice.secretKey)) },
  { name: 'verify', run: (signer) => measure(() => { if (!signer.verify(message, signature, alice.publicKey)) throw new Error('verify failed'); }) },
  { name: 'decodeEnvelope (size, JSON, schema, verify, recipient, skew, replay)', run: (signer) => decodeBench(signer, frames) },
];

interface Cell { medianOpsPerSec: number; minOpsPerSec: number; maxOpsPerSec: number; runs: number[] }

// Rounds interleave the implementations so that load on a shared machine hits all of them alike.
const rows = operations.map((op) => {
  const samples = new Map<string, number[]>(signers.map((s) => [s.name, []]));
  for (let round = 0; round < RUNS; round++) for (const s of signers) samples.get(s.name)!.push(op.run(s.signer).opsPerSec);
  const cells: Record<string, Cell> = {};
  for (const [name, runs] of samples) cells[name] = { medianOpsPerSec: median(runs), minOpsPerSec: Math.min(...runs), maxOpsPerSec: Math.max(...runs), runs };
  return { operation: op.name, cells };
});

// First seal/open with a new contact: the shared key is derived once per contact and process.
const peers = Array.from({ length: 200 }, () => generateIdentity().userId);
const derivation = (derive: typeof jsSharedKey): Measurement => measure((i) => { if (!derive(peers[i % peers.length]!, alice)) throw new Error('no key'); });
const keyRounds: Array<{ js: number; native: number | null }> = [];
for (let round = 0; round < RUNS; round++) {
  keyRounds.push({ js: derivation(jsSharedKey).opsPerSec, native: nativeSharedKey ? derivation(nativeSharedKey).opsPerSec : null });
}
const sharedKeyDerivation = {
  jsOpsPerSec: median(keyRounds.map((r) => r.js)),
  nativeOpsPerSec: nativeSharedKey ? median(keyRounds.map((r) => r.native!)) : null,
  runs: keyRounds,
};
console.log(`box shared key per new contact: pure JS ${sharedKeyDerivation.jsOpsPerSec}/s (${round(1000 / sharedKeyDerivation.jsOpsPerSec, 2)} ms), ` +
  (sharedKeyDerivation.nativeOpsPerSec ? `libsodium ${sharedKeyDerivation.nativeOpsPerSec}/s (${round(1000 / sharedKeyDerivation.nativeOpsPerSec, 3)} ms), ratio ${round(sharedKeyDerivation.nativeOpsPerSec / sharedKeyDerivation.jsOpsPerSec, 1)}` : 'libsodium not installed'));

const plaintext = utf8(encodeEnvelope(sample));
const sealed = sealTo(bob.userId, plaintext, alice);
const box = {
  seal: measure(() => sealTo(bob.userId, plaintext, alice)),
  open: measure(() => { if (!openFrom(alice.userId, sealed, bob)) throw new Error('open failed'); }),
};

const table = rows.map((r) => {
  const line: Record<string, string | number> = { operation: r.operation };
  for (const { name } of signers) line[`${name} ops/s (min-max)`] = `${r.cells[name]!.medianOpsPerSec} (${r.cells[name]!.minOpsPerSec}-${r.cells[name]!.maxOpsPerSec})`;
  line['openssl/nacl'] = round(r.cells.openssl!.medianOpsPerSec / r.cells.tweetnacl!.medianOpsPerSec, 2);
  if (r.cells.libsodium) line['libsodium/openssl'] = round(r.cells.libsodium.medianOpsPerSec / r.cells.openssl!.medianOpsPerSec, 2);
  return line;
});
console.log(`medians of ${RUNS} interleaved rounds; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; the host uses ${nodeSignerName}`);
console.table(table);
console.log(`nacl.box (cached shared key, ${plaintext.length} B): seal ${box.seal.opsPerSec}/s, open ${box.open.opsPerSec}/s`);

const out = {
  bench: 'crypto',
  at: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  settings: { secondsPerRow: SECONDS, maxOpsPerRow: MAX_OPS, messageBytes: message.length, envelopeBytes: encodeEnvelope(sample).length },
  loadAverage: os.loadavg(),
  hostSigner: nodeSignerName,
  runs: RUNS,
  baseline: 'tweetnacl',
  rows: rows.map((r) => ({
    operation: r.operation, ...r.cells,
    ratioOpensslOverNacl: round(r.cells.openssl!.medianOpsPerSec / r.cells.tweetnacl!.medianOpsPerSec, 2),
    ...(r.cells.libsodium ? { ratioLibsodiumOverOpenssl: round(r.cells.libsodium.medianOpsPerSec / r.cells.openssl!.medianOpsPerSec, 2) } : {}),
  })),
  box,
  sharedKeyDerivation,
};
const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, 'crypto.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${join(resultsDir, 'crypto.json')}`);
