import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MailboxStorage } from '../../../src/server/mailbox/storage';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function open(sync: 'full' | 'normal'): MailboxStorage {
  const dir = mkdtempSync(join(tmpdir(), 'parley-mbox-storage-'));
  dirs.push(dir);
  return new MailboxStorage(dir, sync);
}

describe('mailbox storage: which writes are fsynced', () => {
  it('writes a commit-only hard state without an fsync and goes back to synchronous=FULL after it', () => {
    const s = open('full');
    s.persist([{ entries: [{ index: 1, term: 1, json: '{"e":1}' }], hardState: { term: 1, vote: 'a', commit: 0 } }]);
    s.persist([{ hardState: { term: 1, vote: 'a', commit: 1 } }], { durable: false });
    expect(s.loadHardState()).toEqual({ term: 1, vote: 'a', commit: 1 });
    expect(s.counters).toEqual({ transactions: 2, entries: 1, unsynced: 1 });
    // 2 = FULL: the next durable write fsyncs again (and makes the unsynced one durable with it)
    expect(s.db.pragma('synchronous', { simple: true })).toBe(2);
    s.persist([{ entries: [{ index: 2, term: 1, json: '{"e":2}' }] }]);
    expect(s.counters.unsynced).toBe(1);
    expect(s.loadEntries(1).map((e) => e.index)).toEqual([1, 2]);
    s.close();
  });

  it('in normal mode nothing is fsynced anyway and nothing is counted as unsynced', () => {
    const s = open('normal');
    s.persist([{ hardState: { term: 1, vote: null, commit: 0 } }], { durable: false });
    expect(s.counters.unsynced).toBe(0);
    expect(s.db.pragma('synchronous', { simple: true })).toBe(1);
    s.close();
  });
});
