// Durable Raft state for one mailbox node: hard state, log entries, latest snapshot and the
// applied-state checkpoint, in one SQLite file (WAL). Every Ready batch of an event-loop turn is
// written in ONE transaction, so `synchronous=FULL` costs one fsync per batch (group commit).
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type SyncMode = 'full' | 'normal';

export interface StoredHardState {
  term: number;
  vote: string | null;
  commit: number;
}

export interface StoredEntry {
  index: number;
  term: number;
  /** The entry as the consensus core hands it over, JSON-encoded by the caller's codec. */
  json: string;
}

export interface StoredSnapshot {
  index: number;
  term: number;
  /** the snapshot, JSON-encoded; without its image when `data` is given */
  json: string;
  /** the state image, stored as is (encoding it into `json` again cost as much as building it) */
  data?: string;
}

export interface PersistBatch {
  hardState?: StoredHardState;
  entries?: StoredEntry[];
  snapshot?: StoredSnapshot;
  /** true for a snapshot received from the leader: it replaces the whole stored log */
  replaceLog?: boolean;
  /** Highest log index whose effect is included in `appliedCheckpoint` (if given). */
  applied?: { index: number; stateJson: string };
  meta?: Record<string, string>;
}

export class StorageCorruptError extends Error {}

export class MailboxStorage {
  readonly db: Database.Database;
  private readonly stmts;

  constructor(readonly dir: string, readonly sync: SyncMode, fileName = 'mailbox.sqlite') {
    mkdirSync(dir, { recursive: true });
    this.db = new Database(join(dir, fileName));
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS log (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, entry TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), idx INTEGER NOT NULL, term INTEGER NOT NULL, body TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS applied (id INTEGER PRIMARY KEY CHECK (id = 1), idx INTEGER NOT NULL, state TEXT NOT NULL);
      `);
      const columns = this.db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('snapshot')").all();
      if (!columns.some((c) => c.name === 'data')) this.db.exec('ALTER TABLE snapshot ADD COLUMN data TEXT');
      const check = this.db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new StorageCorruptError(`quick_check: ${String(check)}`);
    } catch (err) {
      this.db.close();
      if (err instanceof StorageCorruptError) throw err;
      throw new StorageCorruptError(err instanceof Error ? err.message : String(err));
    }
    this.stmts = {
      getMeta: this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      putMeta: this.db.prepare<[string, string]>('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      deleteFrom: this.db.prepare<[number]>('DELETE FROM log WHERE idx >= ?'),
      deleteUpTo: this.db.prepare<[number]>('DELETE FROM log WHERE idx <= ?'),
      putEntry: this.db.prepare<[number, number, string]>('INSERT OR REPLACE INTO log (idx, term, entry) VALUES (?, ?, ?)'),
      entriesFrom: this.db.prepare<[number], { idx: number; term: number; entry: string }>('SELECT idx, term, entry FROM log WHERE idx >= ? ORDER BY idx'),
      putSnapshot: this.db.prepare<[number, number, string, string | null]>('INSERT OR REPLACE INTO snapshot (id, idx, term, body, data) VALUES (1, ?, ?, ?, ?)'),
      getSnapshot: this.db.prepare<[], { idx: number; term: number; body: string; data: string | null }>('SELECT idx, term, body, data FROM snapshot WHERE id = 1'),
      putApplied: this.db.prepare<[number, string]>('INSERT OR REPLACE INTO applied (id, idx, state) VALUES (1, ?, ?)'),
      getApplied: this.db.prepare<[], { idx: number; state: string }>('SELECT idx, state FROM applied WHERE id = 1'),
    };
    this.run = this.db.transaction((list: PersistBatch[]) => {
      for (const batch of list) this.applyBatch(batch);
    });
  }

  /**
   * Group-commit effectiveness: transactions written, log entries they carried, and how many of
   * the transactions were written without an fsync (`durable: false`).
   */
  readonly counters = { transactions: 0, entries: 0, unsynced: 0 };
  private readonly run: (list: PersistBatch[]) => void;

  /**
   * Writes the batches in one transaction; returns once it is durable per the sync mode.
   * `durable: false` skips the fsync of this one transaction in `full` mode (the caller's promise:
   * nothing in it must survive a crash, e.g. a hard state whose only change is the commit index,
   * which Raft recovers from the leader). WAL frames are ordered, so the next durable commit
   * makes it durable too, and a crash before that loses it alone, never a later write.
   */
  persist(batches: PersistBatch[], opts: { durable?: boolean } = {}): void {
    if (batches.length === 0) return;
    this.counters.transactions++;
    for (const b of batches) this.counters.entries += b.entries?.length ?? 0;
    if (opts.durable !== false || this.sync !== 'full') {
      this.run(batches);
      return;
    }
    this.counters.unsynced++;
    this.db.pragma('synchronous = NORMAL');
    try {
      this.run(batches);
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  private applyBatch(batch: PersistBatch): void {
    if (batch.snapshot) {
      this.stmts.putSnapshot.run(batch.snapshot.index, batch.snapshot.term, batch.snapshot.json, batch.snapshot.data ?? null);
      if (batch.replaceLog) this.stmts.deleteFrom.run(0);
      else this.stmts.deleteUpTo.run(batch.snapshot.index);
    }
    if (batch.entries && batch.entries.length > 0) {
      const first = batch.entries[0];
      // An append that starts at index i replaces any conflicting suffix from i on.
      if (first) this.stmts.deleteFrom.run(first.index);
      for (const e of batch.entries) this.stmts.putEntry.run(e.index, e.term, e.json);
    }
    if (batch.hardState) this.stmts.putMeta.run('hardState', JSON.stringify(batch.hardState));
    if (batch.applied) this.stmts.putApplied.run(batch.applied.index, batch.applied.stateJson);
    if (batch.meta) for (const [k, v] of Object.entries(batch.meta)) this.stmts.putMeta.run(k, v);
  }

  getMeta(key: string): string | undefined {
    return this.stmts.getMeta.get(key)?.value;
  }

  loadHardState(): StoredHardState | undefined {
    const raw = this.getMeta('hardState');
    return raw === undefined ? undefined : (JSON.parse(raw) as StoredHardState);
  }

  loadEntries(fromIndex = 0): StoredEntry[] {
    return this.stmts.entriesFrom.all(fromIndex).map((r) => ({ index: r.idx, term: r.term, json: r.entry }));
  }

  loadSnapshot(): StoredSnapshot | undefined {
    const r = this.stmts.getSnapshot.get();
    if (!r) return undefined;
    return r.data === null ? { index: r.idx, term: r.term, json: r.body } : { index: r.idx, term: r.term, json: r.body, data: r.data };
  }

  loadApplied(): { index: number; stateJson: string } | undefined {
    const r = this.stmts.getApplied.get();
    return r ? { index: r.idx, stateJson: r.state } : undefined;
  }

  /** Drops log entries up to `index` (they are covered by the stored snapshot). */
  compact(index: number): void {
    this.stmts.deleteUpTo.run(index);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
