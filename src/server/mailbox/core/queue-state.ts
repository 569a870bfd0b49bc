import { z } from 'zod';
import type { Entry } from './types';

/**
 * The mailbox's replicated state machine: named queues of payloads with gap-free sequence numbers
 * (from 1), per-reader positions that only move forward one ACK at a time, and leader-side
 * de-duplication of client retries by (clientId, reqId). Pure and deterministic: every replica
 * applying the same committed entries reaches the same state.
 *
 * Expiry and caps are deterministic too: the leader stamps an APPEND with its clock (`at`), the
 * message's expiry (`exp`) and the queue's caps, and purges run only inside applied commands
 * (APPEND, ACK, EXPIRE) against the command's own `at`, never against a replica's local clock.
 * Expired messages leave the head of the queue; sequence numbers stay gap-free (`base` counts
 * the ones dropped) and readers behind the head continue at the first message still held.
 */

export const MAX_DATA_BYTES = 64 * 1024;
export const MAX_ID_CHARS = 128;
/** retries older than the last this-many requests of a client are no longer recognised */
export const DEDUP_WINDOW_PER_CLIENT = 1024;
export const QUEUE_NAME_RE = /^[A-Za-z0-9._:@-]{1,128}$/;
/** Queues an APPEND may create on first use (`create: true`); beyond it appends are refused. */
export const MAX_QUEUES = 100_000;
/** Writers remembered for de-duplication; the oldest writer is forgotten first. */
export const MAX_DEDUP_CLIENTS = 100_000;

const zQueue = z.string().regex(QUEUE_NAME_RE, 'queue name: 1-128 of [A-Za-z0-9._:@-]');
const zId = z.string().min(1).max(MAX_ID_CHARS);
const zTime = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const utf8 = new TextEncoder();

export const QueueCommandSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('CREATE_QUEUE'), queue: zQueue }).strict(),
  z.object({
    op: z.literal('APPEND'),
    queue: zQueue,
    data: z.string().refine((s) => utf8.encode(s).length <= MAX_DATA_BYTES, `data over ${MAX_DATA_BYTES} bytes`),
    reqId: zId,
    clientId: zId,
    /** leader's clock when it admitted the append (purges run against it) */
    at: zTime.optional(),
    /** expiry time of this message (absent: kept until read positions no longer matter) */
    exp: zTime.optional(),
    /** create the queue if it does not exist (inbox deposits) */
    create: z.literal(true).optional(),
    /** caps of the queue, checked after purging what expired by `at` */
    maxMessages: z.number().int().min(1).optional(),
    maxBytes: z.number().int().min(1).optional(),
  }).strict(),
  z.object({ op: z.literal('ACK'), queue: zQueue, reader: zId, seq: z.number().int().min(1), at: zTime.optional() }).strict(),
  /** leader's periodic purge of every queue's expired head */
  z.object({ op: z.literal('EXPIRE'), at: zTime }).strict(),
]);

export type QueueCommand = z.infer<typeof QueueCommandSchema>;

export type QueueErrorCode = 'BAD_COMMAND' | 'NO_SUCH_QUEUE' | 'ACK_GAP' | 'QUEUE_FULL';

export type ApplyResult =
  | { ok: true; op: 'CREATE_QUEUE'; created: boolean }
  | { ok: true; op: 'APPEND'; seq: number; duplicate: boolean }
  | { ok: true; op: 'ACK'; position: number; advanced: boolean }
  | { ok: true; op: 'EXPIRE'; purged: number }
  | { ok: false; code: QueueErrorCode; reason: string };

export type ParseResult = { ok: true; value: QueueCommand } | { ok: false; code: 'BAD_COMMAND'; reason: string };

/** Validate a command (from a client, or from the log). Never throws. */
export function parseQueueCommand(input: string | unknown): ParseResult {
  let raw: unknown = input;
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input);
    } catch {
      return { ok: false, code: 'BAD_COMMAND', reason: 'not JSON' };
    }
  }
  const fast = fastAppendCommand(raw);
  if (fast) return { ok: true, value: fast };
  const r = QueueCommandSchema.safeParse(raw);
  if (!r.success) return { ok: false, code: 'BAD_COMMAND', reason: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  return { ok: true, value: r.data };
}

const APPEND_KEYS = new Set(['op', 'queue', 'data', 'reqId', 'clientId', 'at', 'exp', 'create', 'maxMessages', 'maxBytes']);
const isId = (v: unknown): boolean => typeof v === 'string' && v.length >= 1 && v.length <= MAX_ID_CHARS;
const isTime = (v: unknown): boolean => v === undefined || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
const isCap = (v: unknown): boolean => v === undefined || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1);

/**
 * Every append is validated twice (proposed, then applied on each replica): a plainly well-formed
 * APPEND is accepted here exactly as QueueCommandSchema would accept it; anything else (other ops, a body
 * that might exceed MAX_DATA_BYTES once UTF-8 encoded) goes through the schema.
 */
export function fastAppendCommand(raw: unknown): QueueCommand | null {
  if (typeof raw !== 'object' || raw === null || Object.getPrototypeOf(raw) !== Object.prototype || Object.hasOwn(raw, '__proto__')) return null;
  const o = raw as Record<string, unknown>;
  if (o.op !== 'APPEND') return null;
  for (const k in o) if (!APPEND_KEYS.has(k)) return null;
  if (typeof o.queue !== 'string' || !QUEUE_NAME_RE.test(o.queue)) return null;
  // at most 3 UTF-8 bytes per UTF-16 unit: within the cap for sure, else the schema measures it
  if (typeof o.data !== 'string' || o.data.length * 3 > MAX_DATA_BYTES) return null;
  if (!isId(o.reqId) || !isId(o.clientId) || !isTime(o.at) || !isTime(o.exp) || !isCap(o.maxMessages) || !isCap(o.maxBytes)) return null;
  if (o.create !== undefined && o.create !== true) return null;
  return o as QueueCommand;
}

export function encodeQueueCommand(cmd: QueueCommand): string {
  return JSON.stringify(cmd);
}

interface Queue {
  /** messages dropped from the head (expired); messages[i] has seq base + i + 1 */
  base: number;
  messages: string[];
  /** expiry per message, 0 = none */
  exps: number[];
  /** UTF-8 bytes held */
  bytes: number;
  readers: Map<string, number>;
}

function newQueue(): Queue {
  return { base: 0, messages: [], exps: [], bytes: 0, readers: new Map() };
}

const zReaders = z.array(z.tuple([zId, z.number().int().min(0)]));
const zDedup = z.array(z.tuple([zId, z.array(z.tuple([zId, z.number().int().min(1)]))]));
const zSnapshotV1 = z.object({
  v: z.literal(1),
  appliedIndex: z.number().int().min(0),
  queues: z.array(z.tuple([zQueue, z.object({ messages: z.array(z.string()), readers: zReaders })])),
  dedup: zDedup,
});
const zSnapshotV2 = z.object({
  v: z.literal(2),
  appliedIndex: z.number().int().min(0),
  queues: z.array(z.tuple([zQueue, z.object({ base: z.number().int().min(0), messages: z.array(z.string()), exps: z.array(zTime), readers: zReaders })])),
  dedup: zDedup,
});
const zSnapshot = z.union([zSnapshotV1, zSnapshotV2]);

export class QueueState {
  private queues = new Map<string, Queue>();
  /** clientId -> (reqId -> seq), insertion-ordered for deterministic eviction */
  private dedup = new Map<string, Map<string, number>>();
  /** last log index applied; re-delivered entries at or below it are ignored */
  appliedIndex = 0;

  /** Apply a committed log entry. Returns null for noop/config entries and entries already applied. */
  apply(entry: Entry): ApplyResult | null {
    if (entry.index <= this.appliedIndex) return null;
    this.appliedIndex = entry.index;
    if (entry.type !== 'command') return null;
    const parsed = parseQueueCommand(entry.data);
    if (!parsed.ok) return parsed;
    return this.applyCommand(parsed.value);
  }

  applyCommand(cmd: QueueCommand): ApplyResult {
    switch (cmd.op) {
      case 'CREATE_QUEUE': {
        if (this.queues.has(cmd.queue)) return { ok: true, op: 'CREATE_QUEUE', created: false };
        this.queues.set(cmd.queue, newQueue());
        return { ok: true, op: 'CREATE_QUEUE', created: true };
      }
      case 'APPEND': {
        const seen = this.dedup.get(cmd.clientId)?.get(cmd.reqId);
        if (seen !== undefined) return { ok: true, op: 'APPEND', seq: seen, duplicate: true };
        let q = this.queues.get(cmd.queue);
        if (!q && cmd.create) {
          if (this.queues.size >= MAX_QUEUES) return { ok: false, code: 'QUEUE_FULL', reason: `the mailbox holds ${MAX_QUEUES} queues` };
          q = newQueue();
          this.queues.set(cmd.queue, q);
        }
        if (!q) return { ok: false, code: 'NO_SUCH_QUEUE', reason: `no queue ${cmd.queue}` };
        if (cmd.at !== undefined) purge(q, cmd.at);
        const bytes = utf8.encode(cmd.data).length;
        if (cmd.maxMessages !== undefined && q.messages.length >= cmd.maxMessages) {
          return { ok: false, code: 'QUEUE_FULL', reason: `queue ${cmd.queue} holds ${q.messages.length} messages (cap ${cmd.maxMessages})` };
        }
        if (cmd.maxBytes !== undefined && q.bytes + bytes > cmd.maxBytes) {
          return { ok: false, code: 'QUEUE_FULL', reason: `queue ${cmd.queue} holds ${q.bytes} bytes (cap ${cmd.maxBytes})` };
        }
        q.messages.push(cmd.data);
        q.exps.push(cmd.exp ?? 0);
        q.bytes += bytes;
        const seq = q.base + q.messages.length;
        this.remember(cmd.clientId, cmd.reqId, seq);
        return { ok: true, op: 'APPEND', seq, duplicate: false };
      }
      case 'ACK': {
        const q = this.queues.get(cmd.queue);
        if (!q) return { ok: false, code: 'NO_SUCH_QUEUE', reason: `no queue ${cmd.queue}` };
        if (cmd.at !== undefined) purge(q, cmd.at);
        // a reader behind an expired head continues at the first message still held
        const position = Math.max(q.readers.get(cmd.reader) ?? 0, q.base);
        const last = q.base + q.messages.length;
        if (cmd.seq <= position) return { ok: true, op: 'ACK', position, advanced: false };
        if (cmd.seq !== position + 1 || cmd.seq > last) {
          return { ok: false, code: 'ACK_GAP', reason: `ack ${cmd.seq} but position is ${position} and last seq ${last}` };
        }
        q.readers.set(cmd.reader, cmd.seq);
        return { ok: true, op: 'ACK', position: cmd.seq, advanced: true };
      }
      case 'EXPIRE': {
        let purged = 0;
        for (const q of this.queues.values()) purged += purge(q, cmd.at);
        return { ok: true, op: 'EXPIRE', purged };
      }
    }
  }

  /** True when some queue's head has expired by `now` (the leader then proposes EXPIRE). */
  hasExpired(now: number): boolean {
    for (const q of this.queues.values()) {
      const exp = q.exps[0];
      if (exp !== undefined && exp !== 0 && exp <= now) return true;
    }
    return false;
  }

  private remember(clientId: string, reqId: string, seq: number): void {
    let m = this.dedup.get(clientId);
    if (!m) {
      m = new Map();
      this.dedup.set(clientId, m);
    }
    m.set(reqId, seq);
    if (this.dedup.size > MAX_DEDUP_CLIENTS) {
      const oldest = this.dedup.keys().next();
      if (!oldest.done) this.dedup.delete(oldest.value);
    }
    if (m.size > DEDUP_WINDOW_PER_CLIENT) {
      const oldest = m.keys().next();
      if (!oldest.done) m.delete(oldest.value);
    }
  }

  hasQueue(queue: string): boolean {
    return this.queues.has(queue);
  }

  /** the next message after the reader's position, or null */
  read(queue: string, reader: string): { seq: number; data: string } | null {
    const q = this.queues.get(queue);
    if (!q) return null;
    const seq = Math.max(q.readers.get(reader) ?? 0, q.base) + 1;
    const data = q.messages[seq - q.base - 1];
    return data === undefined ? null : { seq, data };
  }

  position(queue: string, reader: string): number {
    return this.queues.get(queue)?.readers.get(reader) ?? 0;
  }

  lastSeq(queue: string): number {
    const q = this.queues.get(queue);
    return q ? q.base + q.messages.length : 0;
  }

  message(queue: string, seq: number): string | undefined {
    const q = this.queues.get(queue);
    return q?.messages[seq - q.base - 1];
  }

  /** Messages and UTF-8 bytes a queue holds now. */
  held(queue: string): { messages: number; bytes: number } {
    const q = this.queues.get(queue);
    return { messages: q?.messages.length ?? 0, bytes: q?.bytes ?? 0 };
  }

  queueNames(): string[] {
    return [...this.queues.keys()].sort();
  }

  readers(queue: string): Array<[string, number]> {
    return [...(this.queues.get(queue)?.readers ?? new Map<string, number>())].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  snapshot(): string {
    return JSON.stringify({
      v: 2,
      appliedIndex: this.appliedIndex,
      queues: [...this.queues].map(([name, q]) => [name, { base: q.base, messages: q.messages, exps: q.exps, readers: [...q.readers] }]),
      dedup: [...this.dedup].map(([client, m]) => [client, [...m]]),
    });
  }

  /** Replace the whole state with a snapshot image; throws on a malformed image. */
  restore(image: string): void {
    const s = zSnapshot.parse(JSON.parse(image));
    this.appliedIndex = s.appliedIndex;
    this.queues = new Map(
      s.queues.map(([name, q]) => {
        const exps = 'exps' in q ? q.exps : q.messages.map(() => 0);
        if (exps.length !== q.messages.length) throw new Error(`snapshot queue ${name}: ${exps.length} expiries for ${q.messages.length} messages`);
        const bytes = q.messages.reduce((n, m) => n + utf8.encode(m).length, 0);
        return [name, { base: 'base' in q ? q.base : 0, messages: q.messages, exps, bytes, readers: new Map(q.readers) }];
      }),
    );
    this.dedup = new Map(s.dedup.map(([client, pairs]) => [client, new Map(pairs)]));
  }

  static fromSnapshot(image: string): QueueState {
    const st = new QueueState();
    st.restore(image);
    return st;
  }
}

/** Drops expired messages from the head of the queue; returns how many. */
function purge(q: Queue, at: number): number {
  let n = 0;
  while (n < q.exps.length && q.exps[n] !== 0 && q.exps[n]! <= at) n++;
  if (n === 0) return 0;
  for (const m of q.messages.slice(0, n)) q.bytes -= utf8.encode(m).length;
  q.messages.splice(0, n);
  q.exps.splice(0, n);
  q.base += n;
  return n;
}
