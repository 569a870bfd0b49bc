import nacl from 'tweetnacl';
import { jsSharedKey, type SharedKeyDerivation } from '../../shared/box';
import { publicKeyFromUserId } from '../../shared/identity';
import { loadSodium } from './sodium';

// "expand 32-byte k": the HSalsa20 constant nacl.box.before uses.
const SIGMA = new Uint8Array([101, 120, 112, 97, 110, 100, 32, 51, 50, 45, 98, 121, 116, 101, 32, 107]);
const ZERO_NONCE = new Uint8Array(16);

const sodium = loadSodium();

// tweetnacl's typings omit its lowlevel exports; HSalsa20 is cheap in JS, X25519 is not.
const hsalsa20 = (nacl as unknown as { lowlevel?: { crypto_core_hsalsa20?: (out: Uint8Array, nonce: Uint8Array, key: Uint8Array, sigma: Uint8Array) => void } })
  .lowlevel?.crypto_core_hsalsa20;

/**
 * nacl.box.before with libsodium doing the two costly steps (Ed25519 → X25519 conversion of the
 * peer's key, and the X25519 multiplication): tens of microseconds instead of milliseconds of pure
 * JS per new contact, paid again on every fresh start. libsodium refuses keys that are off the
 * curve or of small order, and zero results, where tweetnacl does not; for those the pure-JS path
 * answers, so both give the same key (or null) for every userId.
 */
export const nativeSharedKey: SharedKeyDerivation | null = sodium?.crypto_sign_ed25519_pk_to_curve25519 && sodium.crypto_scalarmult && hsalsa20
  ? (peerUserId, self) => {
    const edKey = publicKeyFromUserId(peerUserId);
    if (!edKey) return null;
    try {
      const peerBox = Buffer.alloc(32);
      sodium.crypto_sign_ed25519_pk_to_curve25519!(peerBox, Buffer.from(edKey));
      const shared = Buffer.alloc(32);
      sodium.crypto_scalarmult!(shared, Buffer.from(self.boxSecretKey), peerBox);
      const key = new Uint8Array(32);
      hsalsa20!(key, ZERO_NONCE, shared, SIGMA);
      return key;
    } catch {
      return jsSharedKey(peerUserId, self);
    }
  }
  : null;
