import type { Migration } from './types';

/**
 * STRICT tables: SQLite then rejects a value of the wrong type instead of silently storing it.
 * CHECK constraints mirror the TypeScript unions, so a bad write fails loudly at the source.
 */
export const migration0001: Migration = {
  version: 1,
  name: 'initial',
  up(db) {
    db.exec(`
      CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL CHECK (json_valid(value))
      ) STRICT;

      -- Exactly one row (id = 1). The private key is NOT here: it lives in the keystore file.
      CREATE TABLE identity (
        id           INTEGER PRIMARY KEY CHECK (id = 1),
        user_id      TEXT NOT NULL,
        device_id    TEXT NOT NULL,
        display_name TEXT NOT NULL,
        created_at   INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE contacts (
        user_id    TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        state      TEXT NOT NULL CHECK (state IN ('outgoing', 'incoming', 'accepted', 'declined')),
        presence   TEXT NOT NULL DEFAULT 'offline' CHECK (presence IN ('online', 'chat-open', 'offline')),
        last_seen  INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;

      -- peer = the other party of the conversation. seq = local insertion counter.
      CREATE TABLE messages (
        id          TEXT PRIMARY KEY,
        peer        TEXT NOT NULL,
        sender      TEXT NOT NULL,
        recipient   TEXT NOT NULL,
        text        TEXT NOT NULL,
        ts          INTEGER NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'delivered', 'read', 'failed')),
        received_at INTEGER,
        seq         INTEGER NOT NULL UNIQUE
      ) STRICT;
      CREATE INDEX messages_by_conversation ON messages (peer, ts, sender, id);

      -- SQLite allows AUTOINCREMENT only on the INTEGER PRIMARY KEY, so order_seq is the key and
      -- msg_id is UNIQUE. AUTOINCREMENT (not plain rowid) so a sequence number is never reused,
      -- even after the newest rows are removed.
      CREATE TABLE outbox (
        order_seq       INTEGER PRIMARY KEY AUTOINCREMENT,
        msg_id          TEXT NOT NULL UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
        peer            TEXT NOT NULL,
        envelope        TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error      TEXT,
        created_at      INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX outbox_by_peer ON outbox (peer, order_seq);
      CREATE INDEX outbox_by_due ON outbox (next_attempt_at, order_seq);

      CREATE TABLE peer_routes (
        user_id     TEXT NOT NULL,
        path        TEXT NOT NULL CHECK (path IN ('direct', 'relay', 'coordinator', 'mailbox')),
        signal_addr TEXT,
        via         TEXT,
        last_ok     INTEGER,
        last_fail   INTEGER,
        fail_count  INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id, path)
      ) STRICT;

      CREATE TABLE coordinators (
        user_id   TEXT PRIMARY KEY,
        can_store INTEGER NOT NULL CHECK (can_store IN (0, 1)),
        last_seen INTEGER NOT NULL
      ) STRICT;
    `);
  },
};
