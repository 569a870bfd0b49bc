/**
 * Every call the host makes on the local SQLite store, in one place (Signal Desktop style).
 * Implemented by plain functions over one better-sqlite3 handle; see `openStore` in ./index.
 * All calls are synchronous: better-sqlite3 is synchronous and SQLite calls here take microseconds.
 * Timestamps are integer milliseconds since the epoch.
 */
import type { CheckpointTiming } from './checkpointer';
import type { FileTransferStore } from './files';
import type { HeldMessageStore } from './held';
import type { ContactKeyStore } from './contact-keys';
import type { ContactState, DeliveryPath, MessageStatus, Presence } from '../../shared/api';

export type { ContactState, MessageStatus, Presence };
export type { FileTransferRow, FileTransferStore, TransferDirection, TransferState } from './files';
export type { HeldMessage, HeldMessageStore, HeldUsage, HoldOutcome } from './held';

export type StoreErrorCode =
  /** The database was written by a newer Parley (its schema version is above ours). */
  | 'DB_FROM_FUTURE'
  /** The file is not a SQLite database (or is encrypted / damaged beyond opening). */
  | 'NOT_A_DATABASE'
  /** A migration failed; the transaction was rolled back and the file is as it was. */
  | 'MIGRATION_FAILED'
  /** A row holds a value the code does not know (e.g. an unknown status): hand-edited or damaged. */
  | 'CORRUPT';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(readonly code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface IdentityRow {
  userId: string;
  deviceId: string;
  displayName: string;
  createdAt: number;
}

export interface ContactRecord {
  userId: string;
  name: string;
  state: ContactState;
  presence: Presence;
  lastSeen: number | null;
  createdAt: number;
  updatedAt: number;
}

/** Fields the caller supplies; presence/lastSeen keep their stored values when omitted. */
export interface ContactInput {
  userId: string;
  name: string;
  state: ContactState;
  presence?: Presence;
  lastSeen?: number | null;
}

export interface StoredMessage {
  id: string;
  /** The other party of the conversation (recipient for our messages, sender for theirs). */
  peer: string;
  sender: string;
  recipient: string;
  text: string;
  /** Author's timestamp (ms), the primary sort key. */
  ts: number;
  status: MessageStatus;
  /** When this device stored an incoming message; null for messages we wrote. */
  receivedAt: number | null;
  /** Id of the message this one replies to, if any. */
  replyTo: string | null;
  /** Local insertion counter: stable, strictly increasing, never reused. */
  seq: number;
}

export interface NewMessage {
  id: string;
  peer: string;
  sender: string;
  recipient: string;
  text: string;
  ts: number;
  status: MessageStatus;
  receivedAt?: number | null;
  replyTo?: string | null;
}

/** An outgoing message before it is saved; it is always stored with status 'pending'. */
export type OutgoingMessage = Omit<NewMessage, 'status' | 'receivedAt'>;

/** Position in a conversation, for paging older messages without skipping equal timestamps. */
export interface MessageCursor {
  ts: number;
  sender: string;
  id: string;
}

export interface OutboxEntry {
  msgId: string;
  peer: string;
  /** The signed, encoded envelope, sent as is on every attempt. */
  envelope: string;
  /** Global enqueue order (AUTOINCREMENT: never reused, survives restarts). */
  orderSeq: number;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
}

/** How a peer was reached; 'none' is never a route. */
export type RoutePath = Exclude<DeliveryPath, 'none'>;

export interface PeerRoute {
  userId: string;
  path: RoutePath;
  /** Where to signal the peer for this path (e.g. a signaling server address), if any. */
  signalAddr: string | null;
  /** The relay/coordinator peer used on this path, if any. */
  via: string | null;
  lastOk: number | null;
  lastFail: number | null;
  /** Consecutive failures since the last success. */
  failCount: number;
}

export interface RouteDetails {
  signalAddr?: string | null;
  via?: string | null;
}

export interface Coordinator {
  userId: string;
  canStore: boolean;
  lastSeen: number;
}

export interface Store extends FileTransferStore, HeldMessageStore, ContactKeyStore {
  /** The file path, or ':memory:'. */
  readonly file: string;
  /** PRAGMA user_version after migrations: the schema version this store runs on. */
  readonly schemaVersion: number;

  // settings — values are JSON; written by trusted host code, so reads are not re-validated
  // unless a `parse` function is given.
  getSetting<T = unknown>(key: string, parse?: (value: unknown) => T): T | undefined;
  setSetting(key: string, value: unknown): void;
  deleteSetting(key: string): void;

  // identity — public facts only; the private key lives in the keystore file, never here.
  getIdentityRow(): IdentityRow | undefined;
  saveIdentityRow(row: IdentityRow): void;

  // contacts
  upsertContact(contact: ContactInput): void;
  getContact(userId: string): ContactRecord | undefined;
  /** Accepted contacts first, then by name (case-insensitive), then by userId. */
  listContacts(): ContactRecord[];
  /** Returns false if there is no such contact. */
  setContactState(userId: string, state: ContactState): boolean;
  /** Returns false if there is no such contact. */
  setPresence(userId: string, presence: Presence, lastSeen: number | null): boolean;
  removeContact(userId: string): boolean;

  // messages
  /** Duplicate id → { inserted: false } and the stored row is left unchanged (de-duplication). */
  insertMessage(message: NewMessage): { inserted: boolean };
  getMessage(id: string): StoredMessage | undefined;
  /** Of `ids`, those of messages whose recipient is `recipient` (an ACK's check: reads ids only). */
  idsSentTo(recipient: string, ids: readonly string[]): string[];
  /**
   * The newest `limit` messages of the conversation strictly before `before` (a timestamp, or a
   * cursor for exact paging), returned oldest → newest, ordered by (ts, sender, id).
   */
  listMessages(peer: string, limit: number, before?: number | MessageCursor): StoredMessage[];
  /**
   * Moves status forward only: pending < sent < delivered < read; 'failed' only from pending/sent;
   * a failed message may still become sent/delivered/read (a late ACK proves it arrived).
   * Returns whether the row changed.
   */
  updateMessageStatus(id: string, status: MessageStatus): boolean;
  /**
   * ACKed: removes the messages' outbox rows and moves each to 'delivered' where that is forward,
   * in two statements for the whole batch. Returns the ids whose status changed.
   */
  markDelivered(ids: readonly string[]): Set<string>;

  // outbox
  /** Inserts the message (status 'pending') and its outbox row atomically. Duplicate id → nothing changes. */
  saveOutgoing(message: OutgoingMessage, envelope: string, nextAttemptAt?: number): { inserted: boolean };
  /** The peer's queued messages in enqueue order. */
  outboxFor(peer: string): OutboxEntry[];
  /** Entries with nextAttemptAt <= now, in enqueue order. */
  outboxDue(now: number, limit: number): OutboxEntry[];
  /** Records a failed/unacknowledged attempt: attempts + 1, next attempt time, last error. */
  markAttempt(msgId: string, nextAttemptAt: number, error?: string): boolean;
  /** Writes the attempt count and next attempt time kept in memory (delivery writes them behind). */
  setAttempts(msgId: string, attempts: number, nextAttemptAt: number): boolean;
  removeFromOutbox(msgId: string): boolean;
  /** Peers with at least one queued message. */
  outboxPeers(): string[];

  // peer_routes (discovery step 2)
  recordRouteSuccess(userId: string, path: RoutePath, details?: RouteDetails, at?: number): void;
  recordRouteFailure(userId: string, path: RoutePath, at?: number): void;
  /** Freshest success first; routes that never worked last; fewer failures first on ties. */
  getRoutes(userId: string): PeerRoute[];
  /** Deletes routes with no success since `olderThan` (ms). Returns how many were removed. */
  pruneRoutes(olderThan: number): number;

  // coordinators (discovery step 4 / store-and-forward tier 1)
  upsertCoordinator(coordinator: Coordinator): void;
  /** Most recently seen first. */
  listCoordinators(options?: { canStoreOnly?: boolean }): Coordinator[];

  /** The connection's durability settings as SQLite reports them (for diagnostics and tests). */
  connectionInfo(): ConnectionInfo;

  /** Runs fn in one transaction (nested calls become savepoints). fn must be synchronous. */
  transaction<T>(fn: () => T): T;
  close(): void;
}

export interface ConnectionInfo {
  journalMode: string;
  /** 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA. */
  synchronous: number;
  foreignKeys: boolean;
  busyTimeoutMs: number;
  /** WAL pages after which a commit checkpoints by itself (a timer normally does it first). */
  walAutocheckpointPages: number;
}

export interface OpenStoreOptions {
  /** Clock for created_at/updated_at defaults; injectable for tests. */
  now?: () => number;
  /** ms to wait for a lock held by another connection before SQLITE_BUSY. */
  busyTimeoutMs?: number;
  /** When the WAL is checkpointed (default CHECKPOINT_TIMING); injectable for tests. */
  checkpoints?: CheckpointTiming;
}
