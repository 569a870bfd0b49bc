import type BetterSqlite3 from 'better-sqlite3';
import type { MessageCursor, NewMessage, Store, StoredMessage } from './types';
import { readMessageStatus, STATUS_PREDECESSORS } from './values';

interface Row {
  id: string;
  peer: string;
  sender: string;
  recipient: string;
  text: string;
  ts: number;
  status: string;
  received_at: number | null;
  reply_to: string | null;
  seq: number;
}

const COLUMNS = 'id, peer, sender, recipient, text, ts, status, received_at, reply_to, seq';

function toMessage(row: Row): StoredMessage {
  return {
    id: row.id,
    peer: row.peer,
    sender: row.sender,
    recipient: row.recipient,
    text: row.text,
    ts: row.ts,
    status: readMessageStatus(row.status),
    receivedAt: row.received_at,
    replyTo: row.reply_to,
    seq: row.seq,
  };
}

export type MessageQueries = Pick<Store, 'insertMessage' | 'getMessage' | 'idsSentTo' | 'listMessages' | 'updateMessageStatus'>;

export function createMessageQueries(db: BetterSqlite3.Database): MessageQueries {
  // ON CONFLICT (id) only: a duplicate id is de-duplicated silently, any other violation throws.
  const insert = db.prepare<{
    id: string; peer: string; sender: string; recipient: string; text: string;
    ts: number; status: string; receivedAt: number | null; replyTo: string | null;
  }>(`
    INSERT INTO messages (${COLUMNS})
    VALUES (@id, @peer, @sender, @recipient, @text, @ts, @status, @receivedAt, @replyTo,
            (SELECT COALESCE(MAX(seq), 0) + 1 FROM messages))
    ON CONFLICT (id) DO NOTHING`);
  const select = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM messages WHERE id = ?`);
  // One statement per ACK, the primary key index only, no row decoding beyond the id.
  const selectSentTo = db.prepare<[string, string], string>(
    'SELECT id FROM messages WHERE id IN (SELECT value FROM json_each(?)) AND recipient = ?',
  ).pluck();
  // Newest `limit` first via the (peer, ts, sender, id) index, then flipped to oldest → newest.
  // BINARY collation on sender/id, so every device orders ties identically.
  const selectLatest = db.prepare<{ peer: string; limit: number }, Row>(`
    SELECT * FROM (
      SELECT ${COLUMNS} FROM messages WHERE peer = @peer
      ORDER BY ts DESC, sender DESC, id DESC LIMIT @limit
    ) ORDER BY ts, sender, id`);
  const selectBefore = db.prepare<{ peer: string; limit: number; ts: number; sender: string; id: string }, Row>(`
    SELECT * FROM (
      SELECT ${COLUMNS} FROM messages WHERE peer = @peer AND (ts, sender, id) < (@ts, @sender, @id)
      ORDER BY ts DESC, sender DESC, id DESC LIMIT @limit
    ) ORDER BY ts, sender, id`);
  const updateStatus = db.prepare<{ id: string; status: string; from: string }>(
    'UPDATE messages SET status = @status WHERE id = @id AND status IN (SELECT value FROM json_each(@from))',
  );

  return {
    insertMessage(m: NewMessage) {
      const { changes } = insert.run({
        id: m.id, peer: m.peer, sender: m.sender, recipient: m.recipient, text: m.text,
        ts: m.ts, status: m.status, receivedAt: m.receivedAt ?? null, replyTo: m.replyTo ?? null,
      });
      return { inserted: changes > 0 };
    },
    getMessage(id) {
      const row = select.get(id);
      return row && toMessage(row);
    },
    idsSentTo(recipient, ids) {
      if (ids.length === 0) return [];
      return selectSentTo.all(JSON.stringify(ids), recipient);
    },
    listMessages(peer, limit, before?: number | MessageCursor) {
      if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
      if (before === undefined) return selectLatest.all({ peer, limit }).map(toMessage);
      // A bare timestamp means "strictly older than ts": '' sorts before every sender.
      const cursor = typeof before === 'number' ? { ts: before, sender: '', id: '' } : before;
      return selectBefore.all({ peer, limit, ts: cursor.ts, sender: cursor.sender, id: cursor.id }).map(toMessage);
    },
    updateMessageStatus(id, status) {
      const from = JSON.stringify(STATUS_PREDECESSORS[status]);
      return updateStatus.run({ id, status, from }).changes > 0;
    },
  };
}
