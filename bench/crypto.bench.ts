/**
 * Ed25519 throughput: tweetnacl (baseline) vs node:crypto, measured side by side in one run,
 * plus the full decodeEnvelope verify path and nacl.box seal/open. Writes bench/results/crypto.json.
 *   npx tsx bench/crypto.bench.ts [--seconds 2] [--max-ops 20000]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { nodeSigner } from '../src/main/crypto/node-signer';
import { openFrom, sealTo } from '../src/shared/box';
import { naclSigner, type Signer } from '../src/shared/crypto';
import { utf8 } from '../src/shared/encoding';
import { decodeEnvelope, encodeEnvelope, signEnvelope, signedBytes } from '../src/shared/envelope';
import { generateIdentity } from '../src/shared/identity';
import { ReplayGuard } from '../src/shared/replay';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}
const SECONDS = arg('seconds', 2);
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

const rows: Array<{ name: string; nacl: Measurement; node: Measurement }> = [
  {
    name: 'sign',
    nacl: measure(() => naclSigner.sign(message, alice.secretKey)),
    node: measure(() => nodeSigner.sign(message, alice.secretKey)),
  },
  {
    name: 'verify',
    nacl: measure(() => { if (!naclSigner.verify(message, signature, alice.publicKey)) throw new Error('verify failed'); }),
    node: measure(() => { if (!nodeSigner.verify(message, signature, alice.publicKey)) throw new Error('verify failed'); }),
  },
  {
    name: 'decodeEnvelope (size, JSON, schema, verify, recipient, skew, replay)',
    nacl: decodeBench(naclSigner, frames),
    node: decodeBench(nodeSigner, frames),
  },
];

const plaintext = utf8(encodeEnvelope(sample));
const sealed = sealTo(bob.userId, plaintext, alice);
const box = {
  seal: measure(() => sealTo(bob.userId, plaintext, alice)),
  open: measure(() => { if (!openFrom(alice.userId, sealed, bob)) throw new Error('open failed'); }),
};

const table = rows.map((r) => ({
  operation: r.name,
  'tweetnacl ops/s': r.nacl.opsPerSec,
  'node:crypto ops/s': r.node.opsPerSec,
  'ratio node/nacl': round(r.node.opsPerSec / r.nacl.opsPerSec, 1),
}));
console.table(table);
console.log(`nacl.box (cached shared key, ${plaintext.length} B): seal ${box.seal.opsPerSec}/s, open ${box.open.opsPerSec}/s`);

const out = {
  bench: 'crypto',
  at: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  settings: { secondsPerRow: SECONDS, maxOpsPerRow: MAX_OPS, messageBytes: message.length, envelopeBytes: encodeEnvelope(sample).length },
  baseline: 'tweetnacl',
  rows: rows.map((r) => ({ operation: r.name, nacl: r.nacl, node: r.node, ratioNodeOverNacl: round(r.node.opsPerSec / r.nacl.opsPerSec, 2) })),
  box,
};
const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, 'crypto.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${join(resultsDir, 'crypto.json')}`);
