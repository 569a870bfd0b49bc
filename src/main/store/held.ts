/**
 * Sealed copies this device holds for its contacts as a coordinator (migration 0005). The store
 * only keeps rows; who may deposit, how much and for how long is decided by the coordinator
 * (src/main/host/coordinator).
 */
import type BetterSqlite3 from 'better-sqlite3';

export interface HeldMessage {
  seq: number;
  msgId: string;
  depositor: string;
  recipient: string;
  /** sealTo(recipient, encoded signed CHAT_MESSAGE envelope): we can't read it. */
  sealed: string;
  bytes: number;
  expiresAt: number;
  receivedAt: number;
}

export type HoldOutcome = 'held' | 'duplicate' | 'conflict';

export interface HeldUsage { count: number; bytes: number }

export interface HeldMessageStore {
  /** Keeps a copy; the same (recipient, msgId) again is `duplicate` from its depositor, `conflict` from anyone else. */
  holdMessage(m: Omit<HeldMessage, 'seq'>): HoldOutcome;
  /** What one depositor has stored here now, and what everyone has (for the caps). */
  heldUsage(depositor?: string): HeldUsage;
  /** Unexpired copies for `recipient` in deposit order, after `afterSeq`. */
  heldFor(recipient: string, now: number, limit: number, afterSeq?: number): HeldMessage[];
  /** Deletes the recipient's copies of these ids (only its own: the recipient's ACK). Returns how many. */
  dropHeld(recipient: string, msgIds: readonly string[]): number;
  /** Deletes copies whose expiry passed. Returns how many. */
  purgeExpiredHeld(now: number): number;
  /** Recipients with at least one copy held. */
  heldRecipients(): string[];
}

interface Row {
  seq: number;
  msg_id: string;
  depositor: string;
  recipient: string;
  sealed: string;
  bytes: number;
  expires_at: number;
  received_at: number;
}

function toHeld(r: Row): HeldMessage {
  return {
    seq: r.seq, msgId: r.msg_id, depositor: r.depositor, recipient: r.recipient, sealed: r.sealed,
    bytes: r.bytes, expiresAt: r.expires_at, receivedAt: r.received_at,
  };
}

export function createHeldQueries(db: BetterSqlite3.Database): HeldMessageStore {
  const insert = db.prepare<[string, string, string, string, number, number, number]>(`
    INSERT INTO held_messages (msg_id, depositor, recipient, sealed, bytes, expires_at, received_at)
    VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (recipient, msg_id) DO NOTHING`);
  const depositorOf = db.prepare<[string, string], string>('SELECT depositor FROM held_messages WHERE recipient = ? AND msg_id = ?').pluck();
  const usageOf = db.prepare<[string], { count: number; bytes: number | null }>('SELECT count(*) AS count, sum(bytes) AS bytes FROM held_messages WHERE depositor = ?');
  const usageAll = db.prepare<[], { count: number; bytes: number | null }>('SELECT count(*) AS count, sum(bytes) AS bytes FROM held_messages');
  const selectFor = db.prepare<[string, number, number, number], Row>(
    'SELECT * FROM held_messages WHERE recipient = ? AND expires_at > ? AND seq > ? ORDER BY seq LIMIT ?',
  );
  const drop = db.prepare<[string, string]>('DELETE FROM held_messages WHERE recipient = ? AND msg_id = ?');
  const purge = db.prepare<[number]>('DELETE FROM held_messages WHERE expires_at <= ?');
  const recipients = db.prepare<[], string>('SELECT DISTINCT recipient FROM held_messages').pluck();
  const dropMany = db.transaction((recipient: string, ids: readonly string[]) => {
    let n = 0;
    for (const id of ids) n += drop.run(recipient, id).changes;
    return n;
  });

  return {
    holdMessage(m) {
      const { changes } = insert.run(m.msgId, m.depositor, m.recipient, m.sealed, m.bytes, m.expiresAt, m.receivedAt);
      if (changes === 1) return 'held';
      return depositorOf.get(m.recipient, m.msgId) === m.depositor ? 'duplicate' : 'conflict';
    },
    heldUsage(depositor) {
      const r = depositor === undefined ? usageAll.get() : usageOf.get(depositor);
      return { count: r?.count ?? 0, bytes: r?.bytes ?? 0 };
    },
    heldFor(recipient, now, limit, afterSeq = 0) {
      return selectFor.all(recipient, now, afterSeq, limit).map(toHeld);
    },
    dropHeld(recipient, msgIds) {
      return dropMany(recipient, msgIds);
    },
    purgeExpiredHeld(now) {
      return purge.run(now).changes;
    },
    heldRecipients() {
      return recipients.all();
    },
  };
}
