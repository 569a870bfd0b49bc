import nacl from 'tweetnacl';

export const PUBLIC_KEY_BYTES = 32;
export const SECRET_KEY_BYTES = 64;
export const SIGNATURE_BYTES = 64;

/**
 * Ed25519 sign/verify. `secretKey` is the 64-byte nacl form (seed || publicKey).
 * verify never throws: malformed keys or signatures simply do not verify.
 */
export interface Signer {
  sign(msg: Uint8Array, secretKey: Uint8Array): Uint8Array;
  verify(msg: Uint8Array, sig: Uint8Array, publicKey: Uint8Array): boolean;
}

/** Pure-JS implementation; runs anywhere (renderer, browser, Node). */
export const naclSigner: Signer = {
  sign(msg, secretKey) {
    if (secretKey.length !== SECRET_KEY_BYTES) throw new Error('secret key must be 64 bytes');
    return nacl.sign.detached(msg, secretKey);
  },
  verify(msg, sig, publicKey) {
    if (sig.length !== SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES) return false;
    try {
      return nacl.sign.detached.verify(msg, sig, publicKey);
    } catch {
      return false;
    }
  },
};
