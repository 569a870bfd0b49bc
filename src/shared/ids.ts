import nacl from 'tweetnacl';
import { toHex } from './encoding';

const ID_RE = /^[0-9a-f]{32}$/;

const ID_BYTES = 16;
/** Ids are drawn from a pool: one CSPRNG call per 256 ids instead of one per id (a send makes two). */
const POOL_BYTES = ID_BYTES * 256;
let pool: Uint8Array = new Uint8Array(0);
let used = 0;

/** 128 random bits as 32 lowercase hex characters. */
export function randomId(): string {
  if (used + ID_BYTES > pool.length) {
    pool = nacl.randomBytes(POOL_BYTES);
    used = 0;
  }
  const id = toHex(pool.subarray(used, used + ID_BYTES));
  used += ID_BYTES;
  return id;
}

export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID_RE.test(value);
}
