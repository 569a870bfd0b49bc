// The cluster key: one 256-bit secret shared by the members of a mailbox cluster and its operators
// (`--cluster-key FILE`, 64 hex characters as `openssl rand -hex 32` prints them). It authenticates
// broker links (peer-auth.ts) and membership operations (proofs below).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export const CLUSTER_KEY_BYTES = 32;
/** A membership proof is accepted this long either side of the node's clock. */
export const ADMIN_PROOF_WINDOW_MS = 60_000;

export class ClusterKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterKeyError';
  }
}

/** Parses the file's text: 64 hex characters, optionally followed by one newline. */
export function parseClusterKey(text: string, source = 'cluster key'): Buffer {
  const body = text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
  if (body.length === 0) throw new ClusterKeyError(`${source} is empty: write 64 hex characters into it (openssl rand -hex 32 > FILE)`);
  const bad = body.search(/[^0-9a-fA-F]/);
  if (bad >= 0) {
    const ch = body.charCodeAt(bad);
    const shown = ch >= 0x21 && ch <= 0x7e ? `"${body[bad]}"` : `code ${ch}`;
    throw new ClusterKeyError(`${source} has a non-hex character (${shown}) at position ${bad + 1}: it must hold exactly 64 hex characters (openssl rand -hex 32 > FILE)`);
  }
  if (body.length !== CLUSTER_KEY_BYTES * 2) {
    throw new ClusterKeyError(`${source} holds ${body.length} hex characters, not 64 (a 256-bit key): create it with openssl rand -hex 32 > FILE`);
  }
  return Buffer.from(body, 'hex');
}

export function loadClusterKey(file: string): Buffer {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    throw new ClusterKeyError(`cannot read cluster key file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)} (create it with openssl rand -hex 32 > ${file})`);
  }
  if (size > 1024) throw new ClusterKeyError(`cluster key file ${file} is ${size} bytes: it must hold only 64 hex characters and a newline`);
  return parseClusterKey(readFileSync(file, 'utf8'), `cluster key file ${file}`);
}

export function hmac(key: Buffer, ...parts: Array<string | Buffer>): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) {
    const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(b.length, 0);
    h.update(len); // length-prefixed: no two part lists hash the same
    h.update(b);
  }
  return h.digest();
}

export function macEquals(a: Buffer, hex: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(hex)) return false;
  const b = Buffer.from(hex, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function freshNonce(): string {
  return randomBytes(16).toString('hex');
}

// ---------- membership proofs (JOIN_CLUSTER, LEAVE_CLUSTER) ----------

export interface AdminProof {
  ts: number;
  nonce: string;
  mac: string;
}

/** What a proof binds: the operation and every field that decides what it does. */
export interface AdminFields {
  clusterId: string;
  op: string;
  nodeId: string;
  addr?: string | null;
}

function adminMac(key: Buffer, f: AdminFields, ts: number, nonce: string): Buffer {
  return hmac(key, 'parley-mailbox-admin-v1', f.clusterId, f.op, f.nodeId, f.addr ?? '', String(ts), nonce);
}

export function proveAdmin(key: Buffer, fields: AdminFields, now = Date.now()): AdminProof {
  const nonce = freshNonce();
  return { ts: now, nonce, mac: adminMac(key, fields, now, nonce).toString('hex') };
}

export type AdminCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks a membership proof: right key, fresh timestamp, nonce not seen before (the caller's
 * replay cache records accepted nonces for the window).
 */
export class AdminVerifier {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly key: Buffer,
    private readonly maxRemembered = 10_000,
  ) {}

  check(fields: AdminFields, proof: AdminProof | undefined, now = Date.now()): AdminCheck {
    if (!proof) return { ok: false, reason: `${fields.op} needs proof of the cluster key (give the client the key: --cluster-key FILE)` };
    if (Math.abs(now - proof.ts) > ADMIN_PROOF_WINDOW_MS) {
      return { ok: false, reason: `${fields.op} proof is ${Math.round((now - proof.ts) / 1000)} s off this node's clock (window ±${ADMIN_PROOF_WINDOW_MS / 1000} s): check the clocks` };
    }
    if (!macEquals(adminMac(this.key, fields, proof.ts, proof.nonce), proof.mac)) {
      return { ok: false, reason: `${fields.op} proof does not match this node's cluster key (or the request was altered)` };
    }
    this.prune(now);
    if (this.seen.has(proof.nonce)) return { ok: false, reason: `${fields.op} proof was already used (replay)` };
    if (this.seen.size >= this.maxRemembered) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.set(proof.nonce, proof.ts + ADMIN_PROOF_WINDOW_MS);
    return { ok: true };
  }

  private prune(now: number): void {
    for (const [nonce, until] of this.seen) {
      if (until >= now) break; // insertion order is roughly expiry order; stragglers go later
      this.seen.delete(nonce);
    }
  }
}
