import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
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

describe('mailbox storage: snapshots', () => {
  it('keeps the state image apart from the snapshot metadata and reads both back', () => {
    const s = open('normal');
    s.persist([{ entries: [1, 2, 3].map((index) => ({ index, term: 1, json: `{"e":${index}}` })) }]);
    const image = '{"v":2,"queues":[["q",{"messages":["a \\"quoted\\" one"]}]]}';
    s.persist([{ snapshot: { index: 2, term: 1, json: '{"index":2,"term":1,"voters":["a"],"learners":[]}', data: image } }]);
    expect(s.loadSnapshot()).toEqual({ index: 2, term: 1, json: '{"index":2,"term":1,"voters":["a"],"learners":[]}', data: image });
    expect(s.loadEntries(0).map((e) => e.index)).toEqual([3]);
    s.close();
  });

  it('opens a file written before the image column existed and reads its snapshot as before', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-mbox-storage-'));
    dirs.push(dir);
    const old = new Database(join(dir, 'mailbox.sqlite'));
    old.exec('CREATE TABLE snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), idx INTEGER NOT NULL, term INTEGER NOT NULL, body TEXT NOT NULL)');
    old.prepare('INSERT INTO snapshot (id, idx, term, body) VALUES (1, 7, 2, ?)').run('{"index":7,"term":2,"data":"img"}');
    old.close();
    const s = new MailboxStorage(dir, 'normal');
    expect(s.loadSnapshot()).toEqual({ index: 7, term: 2, json: '{"index":7,"term":2,"data":"img"}' });
    s.persist([{ snapshot: { index: 9, term: 2, json: '{"index":9,"term":2}', data: 'img2' } }]);
    expect(s.loadSnapshot()?.data).toBe('img2');
    s.close();
  });
});
