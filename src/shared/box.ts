import nacl from 'tweetnacl';
import { toBase64, tryFromBase64 } from './encoding';
import { boxPublicKeyFromUserId, type Identity } from './identity';

const MAX_CACHED_SHARED_KEYS = 512;
const MIN_SEALED_BYTES = nacl.box.nonceLength + nacl.box.overheadLength;

/** Precomputed nacl.box shared keys per (local userId, remote userId): X25519 is the costly part. */
const sharedKeys = new Map<string, Uint8Array>();

/** nacl.box.before between a userId's X25519 key and one's own, or null for an unusable userId. */
export type SharedKeyDerivation = (peerUserId: string, self: Identity) => Uint8Array | null;

/** Pure JS, runs anywhere; milliseconds per new contact (the Ed25519 → X25519 conversion dominates). */
export const jsSharedKey: SharedKeyDerivation = (peerUserId, self) => {
  const peerBoxKey = boxPublicKeyFromUserId(peerUserId);
  return peerBoxKey ? nacl.box.before(peerBoxKey, self.boxSecretKey) : null;
};

let deriveSharedKey: SharedKeyDerivation = jsSharedKey;

/** The host installs a native derivation (same keys, faster); null goes back to pure JS. */
export function useSharedKeyDerivation(derive: SharedKeyDerivation | null): void {
  deriveSharedKey = derive ?? jsSharedKey;
  sharedKeys.clear();
}

function sharedKey(self: Identity, peerUserId: string): Uint8Array | null {
  const cacheKey = `${self.userId}:${peerUserId}`;
  const cached = sharedKeys.get(cacheKey);
  if (cached) return cached;
  const key = deriveSharedKey(peerUserId, self);
  if (!key) return null;
  if (sharedKeys.size >= MAX_CACHED_SHARED_KEYS) {
    const oldest = sharedKeys.keys().next().value;
    if (oldest !== undefined) sharedKeys.delete(oldest);
  }
  sharedKeys.set(cacheKey, key);
  return key;
}

/** Encrypts and authenticates to the recipient; returns base64(nonce || box). Throws on a bad userId. */
export function sealTo(recipientUserId: string, plaintext: Uint8Array, sender: Identity): string {
  const key = sharedKey(sender, recipientUserId);
  if (!key) throw new Error('recipient userId has no usable encryption key');
  const nonce = nacl.randomBytes(nacl.box.nonceLength);
  const boxed = nacl.box.after(plaintext, nonce, key);
  const out = new Uint8Array(nonce.length + boxed.length);
  out.set(nonce);
  out.set(boxed, nonce.length);
  return toBase64(out);
}

/** Returns the plaintext, or null if the input is malformed, tampered, or not from senderUserId. */
export function openFrom(senderUserId: string, sealed: string, recipient: Identity): Uint8Array | null {
  const bytes = typeof sealed === 'string' ? tryFromBase64(sealed) : null;
  if (!bytes || bytes.length < MIN_SEALED_BYTES) return null;
  const key = sharedKey(recipient, senderUserId);
  if (!key) return null;
  return nacl.box.open.after(bytes.subarray(nacl.box.nonceLength), bytes.subarray(0, nacl.box.nonceLength), key);
}
