import nacl from 'tweetnacl';
import ed2curve from 'ed2curve';
import { fromHex, toHex } from './encoding';
import { randomId } from './ids';

/** userId = lowercase hex of the Ed25519 public key: self-certifying, no lookup needed to verify. */
export const USER_ID_RE = /^[0-9a-f]{64}$/;

export interface Identity {
  userId: string;
  publicKey: Uint8Array;
  /** 64-byte nacl form: seed || publicKey. */
  secretKey: Uint8Array;
  /** X25519 keys converted from the Ed25519 pair (ed2curve). */
  boxPublicKey: Uint8Array;
  boxSecretKey: Uint8Array;
}

export function isUserId(value: unknown): value is string {
  return typeof value === 'string' && USER_ID_RE.test(value);
}

export function generateIdentity(): Identity {
  return fromKeyPair(nacl.sign.keyPair());
}

/**
 * Rebuilds an identity from a 64-byte nacl secret key (or a 32-byte seed). Throws if the key is
 * the wrong size or its embedded public key does not belong to its seed.
 */
export function identityFromSecretKey(secretKey: Uint8Array): Identity {
  if (secretKey.length === 32) return fromKeyPair(nacl.sign.keyPair.fromSeed(secretKey));
  if (secretKey.length !== 64) throw new Error('secret key must be 64 bytes (or a 32-byte seed)');
  const derived = nacl.sign.keyPair.fromSeed(secretKey.subarray(0, 32));
  if (!nacl.verify(derived.publicKey, secretKey.subarray(32))) {
    throw new Error('secret key is inconsistent: embedded public key does not match its seed');
  }
  return fromKeyPair(derived);
}

function fromKeyPair(pair: nacl.SignKeyPair): Identity {
  const box = ed2curve.convertKeyPair(pair);
  if (!box) throw new Error('Ed25519 public key cannot be converted to X25519');
  return {
    userId: toHex(pair.publicKey),
    publicKey: pair.publicKey,
    secretKey: pair.secretKey,
    boxPublicKey: box.publicKey,
    boxSecretKey: box.secretKey,
  };
}

export function publicKeyFromUserId(userId: string): Uint8Array | null {
  return isUserId(userId) ? fromHex(userId) : null;
}

/** X25519 public key for a userId, or null if the id is malformed or not a valid curve point. */
export function boxPublicKeyFromUserId(userId: string): Uint8Array | null {
  const publicKey = publicKeyFromUserId(userId);
  return publicKey ? ed2curve.convertPublicKey(publicKey) : null;
}

export function newDeviceId(): string {
  return randomId();
}
