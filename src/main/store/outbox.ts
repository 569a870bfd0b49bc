import type BetterSqlite3 from 'better-sqlite3';
import type { MessageQueries } from './messages';
import type { OutboxEntry, Store } from './types';
import { STATUS_PREDECESSORS } from './values';

interface Row {
  msg_id: string;
  peer: string;
  envelope: string;
  order_seq: number;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
}

const COLUMNS = 'msg_id, peer, envelope, order_seq, attempts, next_attempt_at, last_error, created_at';

function toEntry(row: Row): OutboxEntry {
  return {
    msgId: row.msg_id,
    peer: row.peer,
    envelope: row.envelope,
    orderSeq: row.order_seq,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    createdAt: row.created_at,
  };
}

type OutboxQueries = Pick<
  Store,
  'saveOutgoing' | 'outboxFor' | 'outboxDue' | 'markAttempt' | 'setAttempts' | 'removeFromOutbox' | 'outboxPeers' | 'markDelivered'
>;

export function createOutboxQueries(
  db: BetterSqlite3.Database,
  messages: MessageQueries,
  now: () => number,
): OutboxQueries {
  const insert = db.prepare<[string, string, string, number, number]>(
    'INSERT INTO outbox (msg_id, peer, envelope, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const selectForPeer = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM outbox WHERE peer = ? ORDER BY order_seq`);
  const selectDue = db.prepare<[number, number], Row>(
    `SELECT ${COLUMNS} FROM outbox WHERE next_attempt_at <= ? ORDER BY order_seq LIMIT ?`,
  );
  const attempt = db.prepare<[number, string | null, string]>(
    'UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE msg_id = ?',
  );
  const setAttempts = db.prepare<[number, number, string]>(
    'UPDATE outbox SET attempts = MAX(attempts, ?), next_attempt_at = ? WHERE msg_id = ?',
  );
  const remove = db.prepare<[string]>('DELETE FROM outbox WHERE msg_id = ?');
  const removeAll = db.prepare<[string]>('DELETE FROM outbox WHERE msg_id IN (SELECT value FROM json_each(?))');
  const deliverAll = db.prepare<[string, string], string>(
    'UPDATE messages SET status = \'delivered\' WHERE id IN (SELECT value FROM json_each(?)) AND status IN (SELECT value FROM json_each(?)) RETURNING id',
  ).pluck();
  const deliveredFrom = JSON.stringify(STATUS_PREDECESSORS.delivered);
  const deliver = (ids: readonly string[]): Set<string> => {
    const json = JSON.stringify(ids);
    removeAll.run(json);
    return new Set(deliverAll.all(json, deliveredFrom));
  };
  const deliverAtomically = db.transaction(deliver);
  const selectPeers = db.prepare<[], string>('SELECT peer FROM outbox GROUP BY peer ORDER BY MIN(order_seq)').pluck();

  const save = (message: Parameters<Store['saveOutgoing']>[0], envelope: string, nextAttemptAt: number | undefined): { inserted: boolean } => {
    const { inserted } = messages.insertMessage({ ...message, status: 'pending', receivedAt: null });
    if (inserted) {
      const at = now();
      insert.run(message.id, message.peer, envelope, nextAttemptAt ?? at, at);
    }
    return { inserted };
  };
  const saveAtomically = db.transaction(save);

  return {
    saveOutgoing(message, envelope, nextAttemptAt) {
      // Inside a caller's transaction (delivery's group commit) that transaction already makes the
      // two inserts atomic; a nested one would be a SAVEPOINT per message, which doubled the save.
      return db.inTransaction ? save(message, envelope, nextAttemptAt) : saveAtomically(message, envelope, nextAttemptAt);
    },
    outboxFor(peer) {
      return selectForPeer.all(peer).map(toEntry);
    },
    outboxDue(now, limit) {
      return selectDue.all(now, limit).map(toEntry);
    },
    markAttempt(msgId, nextAttemptAt, error) {
      return attempt.run(nextAttemptAt, error ?? null, msgId).changes > 0;
    },
    setAttempts(msgId, attempts, nextAttemptAt) {
      return setAttempts.run(attempts, nextAttemptAt, msgId).changes > 0;
    },
    removeFromOutbox(msgId) {
      return remove.run(msgId).changes > 0;
    },
    markDelivered(ids) {
      if (ids.length === 0) return new Set();
      return db.inTransaction ? deliver(ids) : deliverAtomically(ids);
    },
    outboxPeers() {
      return selectPeers.all();
    },
  };
}
