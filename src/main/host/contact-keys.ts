/**
 * The nacl.box key shared with each contact, kept across restarts (issue 11, part 4): deriving it
 * is an Ed25519 → X25519 conversion and an X25519 multiplication, milliseconds of pure JS where
 * libsodium is absent, paid on a fresh start by the first seal (an offer) and the first open
 * (the answer) of every setup. Stored in the profile's database (migration 0007) next to the
 * identity's key file, wrapped with the same SecretWrapper as that key when the profile has one.
 * Only accepted contacts' keys are kept, so a stranger's contact request adds nothing; a start
 * deletes the keys of users who are no longer contacts.
 *
 * src/shared/box keeps one derivation per process while a process may run several hosts (tests
 * do), so the derivation looks up the cache of whichever identity asks.
 */
import { jsSharedKey, type SharedKeyDerivation } from '../../shared/box';
import type { Identity } from '../../shared/identity';
import { nativeSharedKey } from '../crypto/native-box';
import type { ContactKeyStore } from '../store';
import type { SecretWrapper } from './keystore';

const SHARED_KEY_BYTES = 32;

export interface ContactKeyCacheOptions {
  store: ContactKeyStore;
  identity: Identity;
  wrapper?: SecretWrapper;
  isContact(userId: string): boolean;
  now?: () => number;
}

export interface ContactKeyStats {
  /** Keys read back from the store at start. */
  loaded: number;
  /** Rows left unused: wrapped by something this process lacks, or not a key. */
  skipped: number;
  /** Keys derived (not found) since start. */
  derived: number;
  /** Derived keys written to the store. */
  saved: number;
}

export class ContactKeyCache {
  private readonly keys = new Map<string, Uint8Array>();
  private readonly wrapping: string;
  private readonly counts: ContactKeyStats = { loaded: 0, skipped: 0, derived: 0, saved: 0 };

  constructor(private readonly opts: ContactKeyCacheOptions) {
    this.wrapping = opts.wrapper?.kind ?? 'none';
    for (const row of opts.store.contactKeys(opts.identity.userId)) {
      if (!opts.isContact(row.peerUserId)) {
        // No longer a contact (blocked, removed): its key has no business staying.
        opts.store.deleteContactKey(this.userId, row.peerUserId);
        continue;
      }
      const key = row.wrapping === this.wrapping ? this.unwrap(row.sharedKey) : null;
      if (key?.length === SHARED_KEY_BYTES) {
        this.keys.set(row.peerUserId, key);
        this.counts.loaded++;
      } else {
        this.counts.skipped++;
      }
    }
  }

  get userId(): string {
    return this.opts.identity.userId;
  }

  get(peerUserId: string): Uint8Array | undefined {
    return this.keys.get(peerUserId);
  }

  /** A key just derived: kept (and stored) when the peer is an accepted contact. */
  remember(peerUserId: string, key: Uint8Array): void {
    this.counts.derived++;
    if (this.keys.has(peerUserId) || !this.opts.isContact(peerUserId)) return;
    this.keys.set(peerUserId, key);
    const wrapped = this.opts.wrapper ? this.opts.wrapper.wrap(key) : key;
    this.opts.store.saveContactKey(this.userId, { peerUserId, wrapping: this.wrapping, sharedKey: wrapped, createdAt: (this.opts.now ?? Date.now)() });
    this.counts.saved++;
  }

  stats(): ContactKeyStats {
    return { ...this.counts };
  }

  private unwrap(stored: Uint8Array): Uint8Array | null {
    try {
      return this.opts.wrapper ? this.opts.wrapper.unwrap(stored) : stored;
    } catch {
      return null;
    }
  }
}

const caches = new Map<string, ContactKeyCache>();
const derive: SharedKeyDerivation = nativeSharedKey ?? jsSharedKey;

/** Install with useSharedKeyDerivation: the identity's stored key if it has one, else derived (and kept for a contact). */
export const cachedSharedKey: SharedKeyDerivation = (peerUserId, self) => {
  const cache = caches.get(self.userId);
  const stored = cache?.get(peerUserId);
  if (stored) return stored;
  const key = derive(peerUserId, self);
  if (key && cache) cache.remember(peerUserId, key);
  return key;
};

/** Makes the cache answer for its identity until the returned function is called (host close). */
export function registerContactKeys(cache: ContactKeyCache): () => void {
  caches.set(cache.userId, cache);
  return () => {
    if (caches.get(cache.userId) === cache) caches.delete(cache.userId);
  };
}
