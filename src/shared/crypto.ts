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

// Encodings (sign bit ignored) of the points of order 1, 2, 4 and 8, as in libsodium's blocklist.
// Against such a key, forged signatures verify for any message; neither tweetnacl nor OpenSSL refuses them.
const SMALL_ORDER_POINTS = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((hex) => Uint8Array.from(hex.match(/../g)!, (byte) => parseInt(byte, 16)));

/** Group order L, little-endian. */
const GROUP_ORDER = Uint8Array.from(
  'edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010'.match(/../g)!,
  (byte) => parseInt(byte, 16),
);

export function hasSmallOrder(publicKey: Uint8Array): boolean {
  return SMALL_ORDER_POINTS.some((point) => {
    for (let i = 0; i < 31; i++) if (point[i] !== publicKey[i]) return false;
    return point[31] === (publicKey[31]! & 0x7f);
  });
}

/** S < L: tweetnacl alone would accept S + L as well (a second valid signature); OpenSSL refuses it. */
export function hasCanonicalScalar(sig: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = sig[32 + i]!;
    const l = GROUP_ORDER[i]!;
    if (s !== l) return s < l;
  }
  return false;
}

/** Shape checks both signers apply before the curve arithmetic, so they accept exactly the same signatures. */
export function isVerifiableInput(sig: Uint8Array, publicKey: Uint8Array): boolean {
  return (
    sig.length === SIGNATURE_BYTES && publicKey.length === PUBLIC_KEY_BYTES && !hasSmallOrder(publicKey) && hasCanonicalScalar(sig)
  );
}

/** Pure-JS implementation; runs anywhere (renderer, browser, Node). */
export const naclSigner: Signer = {
  sign(msg, secretKey) {
    if (secretKey.length !== SECRET_KEY_BYTES) throw new Error('secret key must be 64 bytes');
    return nacl.sign.detached(msg, secretKey);
  },
  verify(msg, sig, publicKey) {
    if (!isVerifiableInput(sig, publicKey)) return false;
    try {
      return nacl.sign.detached.verify(msg, sig, publicKey);
    } catch {
      return false;
    }
  },
};
