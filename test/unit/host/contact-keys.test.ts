/**
 * Keys shared with contacts survive a restart (issue 11, part 4): derived once, stored wrapped like
 * the identity, read back at the next start and used without deriving again; never kept for a
 * stranger; dropped when a user is no longer a contact; unusable where the wrapping is missing.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cachedSharedKey, ContactKeyCache, registerContactKeys } from '../../../src/main/host/contact-keys';
import type { SecretWrapper } from '../../../src/main/host/keystore';
import { openStore, type Store } from '../../../src/main/store';
import { jsSharedKey, openFrom, sealTo, useSharedKeyDerivation } from '../../../src/shared/box';
import { toBase64, utf8 } from '../../../src/shared/encoding';
import { generateIdentity } from '../../../src/shared/identity';
import { makeTempDir } from '../store/helpers';

const alice = generateIdentity();
const bob = generateIdentity();
const carol = generateIdentity();

/** Stands in for safeStorage: reversible, and not the identity. */
const xorWrapper: SecretWrapper = {
  kind: 'test-xor',
  wrap: (plain) => plain.map((b) => b ^ 0x5a),
  unwrap: (wrapped) => wrapped.map((b) => b ^ 0x5a),
};

let tmp: ReturnType<typeof makeTempDir>;
let file: string;
let unregister: (() => void) | null = null;
beforeEach(() => {
  tmp = makeTempDir();
  file = join(tmp.dir, 'parley.db');
});
afterEach(() => {
  unregister?.();
  unregister = null;
  useSharedKeyDerivation(null);
  tmp.cleanup();
});

/** One "start" of alice's host: a store, her cache, installed as the process's derivation. */
function start(wrapper?: SecretWrapper): { store: Store; cache: ContactKeyCache } {
  const store = openStore(file);
  const cache = new ContactKeyCache({ store, identity: alice, ...(wrapper ? { wrapper } : {}), isContact: (u) => store.getContact(u)?.state === 'accepted' });
  unregister?.();
  unregister = registerContactKeys(cache);
  useSharedKeyDerivation(cachedSharedKey); // also empties the in-memory cache: a fresh process
  return { store, cache };
}

function exchange(): void {
  // alice seals to bob with whatever key her derivation gives; bob (pure JS, his own key) opens it
  const sealed = sealTo(bob.userId, utf8('hello bob'), alice);
  useSharedKeyDerivation(null);
  expect(openFrom(alice.userId, sealed, bob)).toEqual(utf8('hello bob'));
  useSharedKeyDerivation(cachedSharedKey);
}

describe('contact keys across restarts', () => {
  it('a contact\'s key is derived once, stored, and used from the store after a restart', () => {
    let { store, cache } = start();
    store.upsertContact({ userId: bob.userId, name: 'Bob', state: 'accepted' });
    store.upsertContact({ userId: carol.userId, name: 'Carol', state: 'incoming' });
    exchange();
    sealTo(carol.userId, utf8('a request answered'), alice);
    expect(cache.stats()).toEqual({ loaded: 0, skipped: 0, derived: 2, saved: 1 });
    const rows = store.contactKeys(alice.userId);
    expect(rows.map((r) => [r.peerUserId, r.wrapping])).toEqual([[bob.userId, 'none']]);
    expect(toBase64(rows[0]!.sharedKey)).toBe(toBase64(jsSharedKey(bob.userId, alice)!));
    store.close();

    ({ store, cache } = start());
    expect(cache.stats()).toEqual({ loaded: 1, skipped: 0, derived: 0, saved: 0 });
    exchange();
    // opening bob's reply also uses the stored key
    useSharedKeyDerivation(null);
    const reply = sealTo(alice.userId, utf8('hi alice'), bob);
    useSharedKeyDerivation(cachedSharedKey);
    expect(openFrom(bob.userId, reply, alice)).toEqual(utf8('hi alice'));
    expect(cache.stats().derived).toBe(0);
    store.close();
  });

  it('is stored wrapped like the identity, and a start without that wrapping derives instead', () => {
    let { store, cache } = start(xorWrapper);
    store.upsertContact({ userId: bob.userId, name: 'Bob', state: 'accepted' });
    exchange();
    const [row] = store.contactKeys(alice.userId);
    expect(row?.wrapping).toBe('test-xor');
    const plain = toBase64(jsSharedKey(bob.userId, alice)!);
    expect(toBase64(row!.sharedKey)).not.toBe(plain);
    expect(toBase64(xorWrapper.unwrap(row!.sharedKey))).toBe(plain);
    store.close();

    ({ store, cache } = start(xorWrapper));
    expect(cache.stats()).toMatchObject({ loaded: 1, skipped: 0 });
    exchange();
    expect(cache.stats().derived).toBe(0);
    store.close();

    ({ store, cache } = start()); // the wrapper is not available in this process
    expect(cache.stats()).toMatchObject({ loaded: 0, skipped: 1 });
    exchange();
    expect(cache.stats().derived).toBe(1);
    store.close();
  });

  it('a user who is no longer a contact loses the stored key at the next start', () => {
    let { store } = start();
    store.upsertContact({ userId: bob.userId, name: 'Bob', state: 'accepted' });
    exchange();
    expect(store.contactKeys(alice.userId)).toHaveLength(1);
    store.removeContact(bob.userId);
    store.close();

    ({ store } = start());
    expect(store.contactKeys(alice.userId)).toEqual([]);
    store.close();
  });

  it('a key stored for another identity of the profile is not used', () => {
    const { store, cache } = start();
    store.upsertContact({ userId: bob.userId, name: 'Bob', state: 'accepted' });
    store.saveContactKey(carol.userId, { peerUserId: bob.userId, wrapping: 'none', sharedKey: new Uint8Array(32).fill(1), createdAt: 1 });
    exchange(); // would not open on bob's side had carol's row been used
    expect(cache.stats().derived).toBe(1);
    store.close();
  });
});
