import type BetterSqlite3 from 'better-sqlite3';
import { LATEST_VERSION, MIGRATIONS, type Migration } from './migrations';
import { StoreError } from './types';

export function readUserVersion(db: BetterSqlite3.Database): number {
  const version = db.pragma('user_version', { simple: true });
  if (typeof version !== 'number') throw new StoreError('CORRUPT', `PRAGMA user_version returned ${String(version)}`);
  return version;
}

export function futureDatabaseMessage(file: string, found: number, latest: number): string {
  return (
    `The Parley database ${file} was written by a newer version of Parley ` +
    `(schema version ${found}; this version understands up to ${latest}). ` +
    `Upgrade Parley to open this profile, or start this version with a different profile ` +
    `(another --profile / data directory). The file has not been modified.`
  );
}

/** Throws DB_FROM_FUTURE without writing anything if the database is newer than `latest`. */
export function refuseFutureDatabase(db: BetterSqlite3.Database, file: string, latest = LATEST_VERSION): number {
  const found = readUserVersion(db);
  if (found > latest) throw new StoreError('DB_FROM_FUTURE', futureDatabaseMessage(file, found, latest));
  return found;
}

export interface MigrateOptions {
  /** Stop after this version (tests apply migrations step by step). Default: the latest. */
  upTo?: number;
  migrations?: readonly Migration[];
  /** Named in error messages. */
  file?: string;
}

/**
 * Applies every pending migration in ONE transaction, so a crash or a failing migration leaves the
 * database at its previous version, never half-migrated. Returns the resulting user_version.
 */
export function migrate(db: BetterSqlite3.Database, options: MigrateOptions = {}): number {
  const migrations = options.migrations ?? MIGRATIONS;
  const file = options.file ?? db.name;
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
  const target = options.upTo ?? migrations.length;
  if (target < 0 || target > migrations.length) throw new RangeError(`no migration ${target}`);

  const run = db.transaction((): number => {
    // Re-read inside the (IMMEDIATE, i.e. write-locked) transaction: another process opening the
    // same profile may have migrated between our first look and now.
    const current = refuseFutureDatabase(db, file, migrations.length);
    for (const m of migrations.slice(current, target)) {
      try {
        m.up(db);
      } catch (cause) {
        const detail = cause instanceof Error ? cause.message : String(cause);
        throw new StoreError('MIGRATION_FAILED', `migration ${m.version}-${m.name} failed on ${file}: ${detail}`, { cause });
      }
      // Interpolated, not bound: PRAGMA takes no parameters. m.version is a checked integer.
      db.pragma(`user_version = ${m.version}`);
    }
    return Math.max(current, target);
  });
  return run.immediate();
}
