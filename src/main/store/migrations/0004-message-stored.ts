import type { Migration } from './types';

/**
 * Status 'stored' (held by the mailbox or a coordinator). Widening a CHECK constraint changes no
 * stored row, so the table definition is edited in place (SQLite's documented procedure for
 * constraint changes that do not affect content) instead of rebuilding `messages`, which the
 * outbox references with ON DELETE CASCADE.
 */
export const migration0004: Migration = {
  version: 4,
  name: 'message-stored',
  up(db) {
    const version = db.pragma('schema_version', { simple: true }) as number;
    const old = "status IN ('pending', 'sent', 'delivered', 'read', 'failed')";
    const widened = "status IN ('pending', 'sent', 'stored', 'delivered', 'read', 'failed')";
    db.unsafeMode(true);
    try {
      db.pragma('writable_schema = ON');
      const { changes } = db
        .prepare("UPDATE sqlite_schema SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'messages' AND instr(sql, ?) > 0")
        .run(old, widened, old);
      if (changes !== 1) throw new Error('messages.status constraint not found in the expected form');
      db.pragma(`schema_version = ${version + 1}`);
      db.pragma('writable_schema = OFF');
    } finally {
      db.unsafeMode(false);
    }
    const check = db.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new Error(`integrity check after widening the status constraint: ${String(check)}`);
  },
};
