import type BetterSqlite3 from 'better-sqlite3';
import type { ContactRecord, Store } from './types';
import { readContactState, readPresence } from './values';

interface Row {
  user_id: string;
  name: string;
  state: string;
  presence: string;
  last_seen: number | null;
  created_at: number;
  updated_at: number;
}

const COLUMNS = 'user_id, name, state, presence, last_seen, created_at, updated_at';

function toContact(row: Row): ContactRecord {
  return {
    userId: row.user_id,
    name: row.name,
    state: readContactState(row.state),
    presence: readPresence(row.presence),
    lastSeen: row.last_seen,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

type ContactQueries = Pick<
  Store,
  'upsertContact' | 'getContact' | 'listContacts' | 'setContactState' | 'setPresence' | 'removeContact'
>;

export function createContactQueries(db: BetterSqlite3.Database, now: () => number): ContactQueries {
  const upsert = db.prepare<{
    userId: string; name: string; state: string; presence: string | null;
    lastSeen: number | null; keepLastSeen: 0 | 1; now: number;
  }>(`
    INSERT INTO contacts (user_id, name, state, presence, last_seen, created_at, updated_at)
    VALUES (@userId, @name, @state, COALESCE(@presence, 'offline'), @lastSeen, @now, @now)
    ON CONFLICT (user_id) DO UPDATE SET
      name = excluded.name,
      state = excluded.state,
      presence = COALESCE(@presence, presence),
      last_seen = CASE WHEN @keepLastSeen THEN last_seen ELSE excluded.last_seen END,
      updated_at = excluded.updated_at`);
  const select = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM contacts WHERE user_id = ?`);
  const selectAll = db.prepare<[], Row>(
    `SELECT ${COLUMNS} FROM contacts ORDER BY state <> 'accepted', name COLLATE NOCASE, user_id`,
  );
  const updateState = db.prepare<[string, number, string]>('UPDATE contacts SET state = ?, updated_at = ? WHERE user_id = ?');
  const updatePresence = db.prepare<[string, number | null, number, string]>(
    'UPDATE contacts SET presence = ?, last_seen = ?, updated_at = ? WHERE user_id = ?',
  );
  const remove = db.prepare<[string]>('DELETE FROM contacts WHERE user_id = ?');

  return {
    upsertContact(c) {
      upsert.run({
        userId: c.userId,
        name: c.name,
        state: c.state,
        presence: c.presence ?? null,
        lastSeen: c.lastSeen ?? null,
        keepLastSeen: c.lastSeen === undefined ? 1 : 0,
        now: now(),
      });
    },
    getContact(userId) {
      const row = select.get(userId);
      return row && toContact(row);
    },
    listContacts() {
      return selectAll.all().map(toContact);
    },
    setContactState(userId, state) {
      return updateState.run(state, now(), userId).changes > 0;
    },
    setPresence(userId, presence, lastSeen) {
      return updatePresence.run(presence, lastSeen, now(), userId).changes > 0;
    },
    removeContact(userId) {
      return remove.run(userId).changes > 0;
    },
  };
}
