// The coordinator's table of held copies (migration 0005): dedup, usage for the caps, order,
// the recipient-only drop and the expiry purge, on a real SQLite file that is closed and reopened.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../../src/main/store';
import { makeTempDir } from './helpers';

describe('held messages (coordinator store)', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let store: Store;
  beforeEach(() => {
    tmp = makeTempDir();
    store = openStore(join(tmp.dir, 'parley.db'));
  });
  afterEach(() => {
    store.close();
    tmp.cleanup();
  });
  const copy = (msgId: string, over: Partial<{ depositor: string; recipient: string; bytes: number; expiresAt: number }> = {}) => ({
    msgId, depositor: 'alice', recipient: 'carol', sealed: `sealed-${msgId}`, bytes: 100, expiresAt: 10_000, receivedAt: 1, ...over,
  });

  it('keeps one copy per (recipient, id): the same depositor again is a duplicate, anyone else a conflict', () => {
    expect(store.holdMessage(copy('m1'))).toBe('held');
    expect(store.holdMessage(copy('m1'))).toBe('duplicate');
    expect(store.holdMessage(copy('m1', { depositor: 'mallory' }))).toBe('conflict');
    expect(store.holdMessage(copy('m1', { recipient: 'dave' }))).toBe('held');
    expect(store.heldFor('carol', 0, 10).map((m) => m.depositor)).toEqual(['alice']);
  });

  it('counts usage per depositor and in total; serves in deposit order, unexpired only, and survives a reopen', () => {
    for (let i = 0; i < 5; i++) store.holdMessage(copy(`a${i}`, { bytes: 10 }));
    store.holdMessage(copy('b0', { depositor: 'bob', bytes: 7, expiresAt: 50 }));
    expect(store.heldUsage('alice')).toEqual({ count: 5, bytes: 50 });
    expect(store.heldUsage('nobody')).toEqual({ count: 0, bytes: 0 });
    expect(store.heldUsage()).toEqual({ count: 6, bytes: 57 });
    store.close();
    store = openStore(join(tmp.dir, 'parley.db'));
    expect(store.heldFor('carol', 0, 100).map((m) => m.msgId)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'b0']);
    expect(store.heldFor('carol', 50, 100).map((m) => m.msgId)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    const first = store.heldFor('carol', 0, 2);
    expect(store.heldFor('carol', 0, 2, first[1]!.seq).map((m) => m.msgId)).toEqual(['a2', 'a3']);
    expect(store.heldRecipients()).toEqual(['carol']);
  });

  it('drops only the named recipient\'s copies, and purges expired ones', () => {
    store.holdMessage(copy('m1'));
    store.holdMessage(copy('m2', { expiresAt: 20 }));
    store.holdMessage(copy('m1', { recipient: 'dave' }));
    expect(store.dropHeld('mallory', ['m1', 'm2'])).toBe(0);
    expect(store.dropHeld('carol', ['m1', 'nope'])).toBe(1);
    expect(store.heldFor('dave', 0, 10).map((m) => m.msgId)).toEqual(['m1']);
    expect(store.purgeExpiredHeld(20)).toBe(1);
    expect(store.heldFor('carol', 0, 10)).toEqual([]);
    expect(store.heldUsage()).toEqual({ count: 1, bytes: 100 });
  });
});
