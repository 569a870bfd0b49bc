/**
 * The registry's storage connection: an SQLite file by default (zero setup), PostgreSQL when a
 * database URL is given (DESIGN section 8). Both go through one Kysely query layer and are
 * migrated to the same tables on open; concurrent replicas migrate safely (Kysely's lock table).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { migrationsFor, type RegistryDialect } from './migrations';
import type { RegistryDatabase } from './schema';

export interface RegistryDbOptions {
  /** postgres://… ; when absent, SQLite at sqliteFile. */
  databaseUrl?: string;
  /** PostgreSQL schema to use (created if missing); default the connection's search_path. */
  schema?: string;
  sqliteFile?: string;
  /** PostgreSQL pool size. */
  poolSize?: number;
}

export interface RegistryDb {
  db: Kysely<RegistryDatabase>;
  dialect: RegistryDialect;
  /** Where the data lives, for logs (never includes a password). */
  describe: string;
  close(): Promise<void>;
}

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;
const INT8_OID = 20;

export async function openRegistryDb(options: RegistryDbOptions): Promise<RegistryDb> {
  const opened = options.databaseUrl ? await openPostgres(options.databaseUrl, options) : openSqlite(options.sqliteFile);
  // Kysely looks for its migration tables by name across every schema it can see; name ours, or a
  // registry in another schema of the same database would make it skip creating them here.
  const migrator = new Migrator({
    db: opened.db,
    provider: migrationsFor(opened.dialect),
    ...(opened.dialect === 'postgres' && options.schema ? { migrationTableSchema: options.schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    await opened.close();
    throw new Error(`registry database migration failed${failed ? ` at ${failed.migrationName}` : ''}: ${String((error as Error | undefined)?.message ?? error)}`);
  }
  return opened;
}

function openSqlite(file: string | undefined): RegistryDb {
  if (!file) throw new Error('registry: no SQLite file and no database URL');
  mkdirSync(dirname(file), { recursive: true });
  const database = new Database(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<RegistryDatabase>({ dialect: new SqliteDialect({ database }) });
  return { db, dialect: 'sqlite', describe: `sqlite ${file}`, close: () => db.destroy() };
}

async function openPostgres(url: string, options: RegistryDbOptions): Promise<RegistryDb> {
  const schema = options.schema;
  if (schema !== undefined && !SCHEMA_RE.test(schema)) throw new Error(`registry: schema name ${JSON.stringify(schema)} must match ${SCHEMA_RE}`);
  if (schema) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    } catch (err) {
      // Two replicas creating it at once: one wins, the other sees a unique violation.
      if ((err as { code?: string }).code !== '23505') throw err;
    } finally {
      await admin.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
    // Epoch milliseconds are int8: read them as numbers (safe below 2^53), not strings.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  pool.on('error', () => undefined); // idle client errors: the next query reconnects
  const db = new Kysely<RegistryDatabase>({ dialect: new PostgresDialect({ pool }) });
  const where = new URL(url);
  return {
    db,
    dialect: 'postgres',
    describe: `postgresql ${where.host}${where.pathname}${schema ? ` schema ${schema}` : ''}`,
    close: () => db.destroy(),
  };
}

/** Drops a PostgreSQL schema and everything in it (tests clean up after themselves). */
export async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  if (!SCHEMA_RE.test(schema)) throw new Error('bad schema name');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

