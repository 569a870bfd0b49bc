import { createRequire } from 'node:module';

/** The parts of sodium-native's API Parley uses (its own typings are for an older major). */
export interface SodiumEd25519 {
  crypto_sign_detached(sig: Buffer, msg: Buffer, secretKey: Buffer): void;
  crypto_sign_verify_detached(sig: Buffer, msg: Buffer, publicKey: Buffer): boolean;
  /** Throws for a key off the curve or of small order. */
  crypto_sign_ed25519_pk_to_curve25519?(x25519: Buffer, ed25519: Buffer): void;
  /** Throws when the result is all zero. */
  crypto_scalarmult?(shared: Buffer, secretKey: Buffer, publicKey: Buffer): void;
}

/**
 * sodium-native is an optional dependency with prebuilt binaries for the desktop platforms; where
 * it is absent or its binary does not load (PARLEY_NO_SODIUM=1 forces that), callers use OpenSSL.
 */
export function loadSodium(): SodiumEd25519 | null {
  if (process.env.PARLEY_NO_SODIUM === '1') return null;
  try {
    const mod: unknown = createRequire(import.meta.url)('sodium-native');
    const api = mod as Partial<SodiumEd25519>;
    return typeof api.crypto_sign_detached === 'function' && typeof api.crypto_sign_verify_detached === 'function' ? (api as SodiumEd25519) : null;
  } catch {
    return null;
  }
}
