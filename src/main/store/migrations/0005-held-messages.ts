import type { Migration } from './types';

/**
 * Messages this device holds as a coordinator (store-and-forward tier 1, DESIGN section 7): each
 * row is one depositor's sealed copy for one of our contacts, kept until that recipient's signed
 * ACK or its expiry. `seq` keeps the deposit order, which is the order they are forwarded in.
 * One (recipient, msg_id) is held once, whoever deposits it again.
 */
export const migration0005: Migration = {
  version: 5,
  name: 'held-messages',
  up(db) {
    db.exec(`
      CREATE TABLE held_messages (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        msg_id      TEXT NOT NULL,
        depositor   TEXT NOT NULL,
        recipient   TEXT NOT NULL,
        sealed      TEXT NOT NULL,
        bytes       INTEGER NOT NULL CHECK (bytes > 0),
        expires_at  INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        UNIQUE (recipient, msg_id)
      ) STRICT;
      CREATE INDEX held_messages_by_recipient ON held_messages (recipient, seq);
      CREATE INDEX held_messages_by_depositor ON held_messages (depositor);
      CREATE INDEX held_messages_by_expiry ON held_messages (expires_at);
    `);
  },
};
