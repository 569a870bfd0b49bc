declare module 'ed2curve' {
  interface KeyPair {
    publicKey: Uint8Array;
    secretKey: Uint8Array;
  }
  interface Ed2Curve {
    /** Ed25519 public key (32 bytes) → X25519 public key, or null if it is not a valid point. */
    convertPublicKey(publicKey: Uint8Array): Uint8Array | null;
    /** Ed25519 secret key (64-byte nacl form, or 32-byte seed) → X25519 secret key. */
    convertSecretKey(secretKey: Uint8Array): Uint8Array;
    convertKeyPair(keyPair: KeyPair): KeyPair | null;
  }
  const ed2curve: Ed2Curve;
  export default ed2curve;
}
