/**
 * The local SQLite store: `openStore(file)` → `Store` (every call listed in ./types).
 * Host service: plain Node, never imports electron.
 */
import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import { createContactKeyQueries } from './contact-keys';
import { createContactQueries } from './contacts';
import { createCoordinatorQueries } from './coordinators';
import { createFileTransferQueries } from './files';
import { createHeldQueries } from './held';
import { createIdentityQueries } from './identity';
import { startCheckpoints, type CheckpointTiming } from './checkpointer';
import { createMessageQueries } from './messages';
import { migrate, readUserVersion, refuseFutureDatabase } from './migrate';
import { createOutboxQueries } from './outbox';
import { createRouteQueries } from './routes';
import { createSettingsQueries } from './settings';
import { StoreError, type OpenStoreOptions, type Store } from './types';

export * from './types';
export type { ContactKeyStore, StoredContactKey } from './contact-keys';
export { LATEST_VERSION } from './migrations';

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
/**
 * SQLite checkpoints inside whichever commit takes the WAL past wal_autocheckpoint pages. At the
 * default 1,000 that was one commit in ~70 sent messages taking 3.5-4.5 ms instead of 0.1 ms
 * (copying pages back and two fsyncs) on the event loop: the delivery p99 tail (issue 11). A worker
 * thread with its own connection checkpoints instead (checkpointer.ts): on this thread each one still
 * stalled the loop 2.4-8.4 ms. It waits for 250 ms without writes, or at most 2 s of unbroken
 * writing. The automatic checkpoint stays, at 10,000 pages (~40 MiB), as the bound should it fall behind.
 */
export const CHECKPOINT_TIMING: CheckpointTiming = { tickMs: 100, quietMs: 250, maxDeferMs: 2_000 };
export const WAL_AUTOCHECKPOINT_PAGES = 10_000;

function isNotADatabase(error: unknown): boolean {
  return error instanceof Database.SqliteError && (error.code === 'SQLITE_NOTADB' || error.code === 'SQLITE_CORRUPT');
}

function configure(db: BetterSqlite3.Database, busyTimeoutMs: number): void {
  db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
  // WAL: readers never block the writer, and a commit is one append to the -wal file.
  db.pragma('journal_mode = WAL');
  // NORMAL (not FULL) in WAL mode: a commit has reached the OS once it returns, so it survives the
  // process crashing or being SIGKILLed; only an OS crash / power cut can lose the last few commits,
  // and even then the database stays consistent (never corrupt). FULL would fsync on every commit.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
}

export function openStore(file: string, options: OpenStoreOptions = {}): Store {
  const now = options.now ?? Date.now;
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  let db: BetterSqlite3.Database;
  try {
    db = new Database(file, { timeout: busyTimeoutMs });
  } catch (cause) {
    if (isNotADatabase(cause)) throw new StoreError('NOT_A_DATABASE', `${file} is not a Parley database`, { cause });
    throw cause;
  }
  try {
    // Before anything that writes (journal_mode = WAL rewrites the header of a rollback-mode file):
    // a database from a newer Parley must be left exactly as it was.
    refuseFutureDatabase(db, file);
    configure(db, busyTimeoutMs);
    migrate(db, { file });
    return createStore(db, file, now, busyTimeoutMs, options.checkpoints ?? CHECKPOINT_TIMING);
  } catch (cause) {
    db.close();
    if (isNotADatabase(cause)) {
      throw new StoreError('NOT_A_DATABASE', `${file} is not a Parley database (or it is damaged)`, { cause });
    }
    throw cause;
  }
}

function createStore(db: BetterSqlite3.Database, file: string, now: () => number, busyTimeoutMs: number, checkpoints: CheckpointTiming): Store {
  const messages = createMessageQueries(db);
  const stopCheckpoints = startCheckpoints(db, file, checkpoints, busyTimeoutMs);
  return {
    file,
    schemaVersion: readUserVersion(db),
    ...createSettingsQueries(db),
    ...createIdentityQueries(db),
    ...createContactQueries(db, now),
    ...messages,
    ...createOutboxQueries(db, messages, now),
    ...createRouteQueries(db, now),
    ...createCoordinatorQueries(db),
    ...createFileTransferQueries(db, now),
    ...createHeldQueries(db),
    ...createContactKeyQueries(db),
    connectionInfo() {
      return {
        journalMode: String(db.pragma('journal_mode', { simple: true })),
        synchronous: Number(db.pragma('synchronous', { simple: true })),
        foreignKeys: Number(db.pragma('foreign_keys', { simple: true })) === 1,
        busyTimeoutMs: Number(db.pragma('busy_timeout', { simple: true })),
        walAutocheckpointPages: Number(db.pragma('wal_autocheckpoint', { simple: true })),
      };
    },
    transaction<T>(fn: () => T): T {
      return db.transaction(fn)();
    },
    close() {
      stopCheckpoints();
      if (!db.open) return;
      // Lets SQLite refresh its query-planner statistics when they are stale; cheap when not.
      db.pragma('optimize');
      db.close();
    },
  };
}
