import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { isVerifiableInput, SECRET_KEY_BYTES, SIGNATURE_BYTES, type Signer } from '../../shared/crypto';
import { loadSodium } from './sodium';

// DER headers that wrap a raw 32-byte Ed25519 seed / public key (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const MAX_CACHED_KEYS = 4096;

/** Small LRU: importing a key costs more than a signature, and peers are few. */
class KeyCache {
  private readonly map = new Map<string, KeyObject>();
  constructor(private readonly limit: number) {}

  get(raw: Uint8Array, create: (raw: Buffer) => KeyObject): KeyObject {
    const id = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
    const hit = this.map.get(id);
    if (hit) {
      this.map.delete(id);
      this.map.set(id, hit);
      return hit;
    }
    const key = create(Buffer.from(raw));
    if (this.map.size >= this.limit) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
    this.map.set(id, key);
    return key;
  }
}

const privateKeys = new KeyCache(MAX_CACHED_KEYS);
const publicKeys = new KeyCache(MAX_CACHED_KEYS);

function importPrivate(seed: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function importPublic(publicKey: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
}

/** Ed25519 on node:crypto (OpenSSL): same signatures as naclSigner, far faster. */
export const opensslSigner: Signer = {
  sign(msg, secretKey) {
    if (secretKey.length !== SECRET_KEY_BYTES) throw new Error('secret key must be 64 bytes');
    // Cache by the whole 64 bytes so a seed is never paired with a mismatched public half.
    const key = privateKeys.get(secretKey, (raw) => importPrivate(raw.subarray(0, 32)));
    return new Uint8Array(sign(null, msg, key));
  },
  verify(msg, sig, publicKey) {
    if (!isVerifiableInput(sig, publicKey)) return false;
    try {
      return verify(null, msg, publicKeys.get(publicKey, importPublic), sig);
    } catch {
      return false;
    }
  },
};

const sodium = loadSodium();

/**
 * Ed25519 on libsodium (sodium-native), where its prebuilt binary installed: about 2x OpenSSL's
 * verify and sign per call, and verify is the receiver's bottleneck. Same shape checks first, so
 * it accepts exactly what the other two signers accept (test/unit/shared/crypto.test.ts).
 */
export const sodiumSigner: Signer | null = sodium && {
  sign(msg, secretKey) {
    if (secretKey.length !== SECRET_KEY_BYTES) throw new Error('secret key must be 64 bytes');
    const sig = Buffer.alloc(SIGNATURE_BYTES);
    sodium.crypto_sign_detached(sig, toBuffer(msg), toBuffer(secretKey));
    return new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength);
  },
  verify(msg, sig, publicKey) {
    if (!isVerifiableInput(sig, publicKey)) return false;
    try {
      return sodium.crypto_sign_verify_detached(toBuffer(sig), toBuffer(msg), toBuffer(publicKey));
    } catch {
      return false;
    }
  },
};

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The host's and the servers' signer: libsodium where it installed, OpenSSL otherwise. */
export const nodeSigner: Signer = sodiumSigner ?? opensslSigner;

/** Which implementation nodeSigner is (reported by benchmarks and `parley --version`-style diagnostics). */
export const nodeSignerName: 'libsodium' | 'openssl' = sodiumSigner ? 'libsodium' : 'openssl';
