import type { Migration } from './types';

/**
 * The nacl.box key shared with each contact (X25519 of the contact's key converted from its
 * Ed25519 id and ours), so a fresh start seals and opens signaling and stored messages without
 * deriving it again (issue 11, part 4). Per identity: an imported identity derives its own. The
 * key is a secret like the identity's: `wrapping` names the SecretWrapper that wrapped it
 * (`none` when the profile has none, as the key file then says too); a row wrapped by something
 * this process lacks is not used.
 */
export const migration0007: Migration = {
  version: 7,
  name: 'contact-keys',
  up(db) {
    db.exec(`
      CREATE TABLE contact_keys (
        self_user_id TEXT NOT NULL,
        peer_user_id TEXT NOT NULL,
        wrapping     TEXT NOT NULL,
        shared_key   BLOB NOT NULL CHECK (length(shared_key) BETWEEN 32 AND 1024),
        created_at   INTEGER NOT NULL,
        PRIMARY KEY (self_user_id, peer_user_id)
      ) STRICT, WITHOUT ROWID
    `);
  },
};
