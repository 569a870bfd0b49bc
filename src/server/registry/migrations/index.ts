/**
 * One migration set per dialect (SQLite and PostgreSQL differ in integer width and booleans);
 * both produce the tables of ../schema.ts. Append new migrations to both, never edit old ones.
 */
import type { Kysely, Migration, MigrationProvider } from 'kysely';

export type RegistryDialect = 'sqlite' | 'postgres';

type Types = { time: 'integer' | 'bigint'; flag: 'integer' };

function initial(t: Types): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('auth_challenges')
        .addColumn('nonce', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('expires_at', t.time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('auth_challenges_user').on('auth_challenges').columns(['user_id', 'expires_at']).execute();
      await db.schema.createIndex('auth_challenges_expiry').on('auth_challenges').column('expires_at').execute();
      await db.schema
        .createTable('auth_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('created_at', t.time, (c) => c.notNull())
        .addColumn('expires_at', t.time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('auth_tokens_user').on('auth_tokens').columns(['user_id', 'created_at']).execute();
      await db.schema.createIndex('auth_tokens_expiry').on('auth_tokens').column('expires_at').execute();
      await db.schema
        .createTable('peers')
        .addColumn('network_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('signal_addr', 'text')
        .addColumn('signal_addrs', 'text', (c) => c.notNull())
        .addColumn('coordinators', 'text', (c) => c.notNull())
        .addColumn('can_relay', t.flag, (c) => c.notNull())
        .addColumn('coordinator', t.flag, (c) => c.notNull())
        .addColumn('announced_at', t.time, (c) => c.notNull())
        .addColumn('last_seen', t.time, (c) => c.notNull())
        .addColumn('expires_at', t.time, (c) => c.notNull())
        .addPrimaryKeyConstraint('peers_pk', ['network_id', 'user_id', 'device_id'])
        .execute();
      await db.schema.createIndex('peers_active').on('peers').columns(['network_id', 'expires_at']).execute();
      await db.schema
        .createTable('coordinators')
        .addColumn('network_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('signal_addr', 'text')
        .addColumn('peers', t.time, (c) => c.notNull())
        .addColumn('stored', t.time, (c) => c.notNull())
        .addColumn('announced_at', t.time, (c) => c.notNull())
        .addColumn('last_seen', t.time, (c) => c.notNull())
        .addColumn('expires_at', t.time, (c) => c.notNull())
        .addPrimaryKeyConstraint('coordinators_pk', ['network_id', 'user_id', 'device_id'])
        .execute();
      await db.schema.createIndex('coordinators_active').on('coordinators').columns(['network_id', 'expires_at']).execute();
    },
  };
}

const SETS: Record<RegistryDialect, Record<string, Migration>> = {
  sqlite: { '0001-initial': initial({ time: 'integer', flag: 'integer' }) },
  postgres: { '0001-initial': initial({ time: 'bigint', flag: 'integer' }) },
};

export function migrationsFor(dialect: RegistryDialect): MigrationProvider {
  return { getMigrations: async () => SETS[dialect] };
}
