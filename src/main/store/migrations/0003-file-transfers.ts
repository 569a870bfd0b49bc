import type { Migration } from './types';

/**
 * File transfers in both directions, so a transfer survives a restart of either side: the sender
 * keeps the source path and its per-chunk digests; the receiver keeps the digest list it verified
 * against the signed offer and a bitmap of the chunks it verified and wrote (resume restarts from
 * there, never from zero).
 */
export const migration0003: Migration = {
  version: 3,
  name: 'file-transfers',
  up(db) {
    db.exec(`
      CREATE TABLE file_transfers (
        id            TEXT PRIMARY KEY,
        peer          TEXT NOT NULL,
        direction     TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        name          TEXT NOT NULL,
        mime          TEXT,
        size          INTEGER NOT NULL CHECK (size >= 0),
        sha256        TEXT NOT NULL,
        chunk_size    INTEGER NOT NULL CHECK (chunk_size > 0),
        chunks_sha256 TEXT NOT NULL,
        chunk_hashes  BLOB,
        state         TEXT NOT NULL CHECK (state IN ('offered', 'transferring', 'done', 'failed')),
        verified      BLOB,
        bytes         INTEGER NOT NULL DEFAULT 0,
        source_path   TEXT,
        source_mtime  INTEGER,
        path          TEXT,
        reason        TEXT,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX file_transfers_by_peer ON file_transfers (peer, state, created_at);
    `);
  },
};
