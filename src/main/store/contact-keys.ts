/** Shared keys per (identity, contact), as stored (migration 0007): wrapping is the caller's business. */
import type BetterSqlite3 from 'better-sqlite3';

export interface StoredContactKey {
  peerUserId: string;
  /** `none`, or the SecretWrapper kind that wrapped `sharedKey`. */
  wrapping: string;
  sharedKey: Uint8Array;
  createdAt: number;
}

export interface ContactKeyStore {
  /** Every key stored for this identity. */
  contactKeys(selfUserId: string): StoredContactKey[];
  /** Inserts or replaces the key for (self, peer). */
  saveContactKey(selfUserId: string, key: StoredContactKey): void;
  /** Returns false if there was none. */
  deleteContactKey(selfUserId: string, peerUserId: string): boolean;
}

interface Row { peer_user_id: string; wrapping: string; shared_key: Buffer; created_at: number }

export function createContactKeyQueries(db: BetterSqlite3.Database): ContactKeyStore {
  const select = db.prepare<[string], Row>('SELECT peer_user_id, wrapping, shared_key, created_at FROM contact_keys WHERE self_user_id = ?');
  const upsert = db.prepare<[string, string, string, Buffer, number]>(
    'INSERT OR REPLACE INTO contact_keys (self_user_id, peer_user_id, wrapping, shared_key, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const remove = db.prepare<[string, string]>('DELETE FROM contact_keys WHERE self_user_id = ? AND peer_user_id = ?');
  return {
    contactKeys(selfUserId) {
      return select.all(selfUserId).map((r) => ({
        peerUserId: r.peer_user_id, wrapping: r.wrapping, sharedKey: new Uint8Array(r.shared_key), createdAt: r.created_at,
      }));
    },
    saveContactKey(selfUserId, k) {
      upsert.run(selfUserId, k.peerUserId, k.wrapping, Buffer.from(k.sharedKey), k.createdAt);
    },
    deleteContactKey(selfUserId, peerUserId) {
      return remove.run(selfUserId, peerUserId).changes > 0;
    },
  };
}
