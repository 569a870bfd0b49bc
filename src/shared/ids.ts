import nacl from 'tweetnacl';
import { toHex } from './encoding';

const ID_RE = /^[0-9a-f]{32}$/;

/** 128 random bits as 32 lowercase hex characters. */
export function randomId(): string {
  return toHex(nacl.randomBytes(16));
}

export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID_RE.test(value);
}
