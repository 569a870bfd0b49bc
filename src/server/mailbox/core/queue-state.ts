import { z } from 'zod';
import type { Entry } from './types';

/**
 * The mailbox's replicated state machine: named queues of payloads with gap-free sequence numbers
 * (from 1), per-reader positions that only move forward one ACK at a time, and leader-side
 * de-duplication of client retries by (clientId, reqId). Pure and deterministic: every replica
 * applying the same committed entries reaches the same state.
 */

export const MAX_DATA_BYTES = 64 * 1024;
export const MAX_ID_CHARS = 128;
/** retries older than the last this-many requests of a client are no longer recognised */
export const DEDUP_WINDOW_PER_CLIENT = 1024;
export const QUEUE_NAME_RE = /^[A-Za-z0-9._:@-]{1,128}$/;

const zQueue = z.string().regex(QUEUE_NAME_RE, 'queue name: 1-128 of [A-Za-z0-9._:@-]');
const zId = z.string().min(1).max(MAX_ID_CHARS);
const utf8 = new TextEncoder();

const zCommand = z.discriminatedUnion('op', [
  z.object({ op: z.literal('CREATE_QUEUE'), queue: zQueue }).strict(),
  z.object({
    op: z.literal('APPEND'),
    queue: zQueue,
    data: z.string().refine((s) => utf8.encode(s).length <= MAX_DATA_BYTES, `data over ${MAX_DATA_BYTES} bytes`),
    reqId: zId,
    clientId: zId,
  }).strict(),
  z.object({ op: z.literal('ACK'), queue: zQueue, reader: zId, seq: z.number().int().min(1) }).strict(),
]);

export type QueueCommand = z.infer<typeof zCommand>;

export type QueueErrorCode = 'BAD_COMMAND' | 'NO_SUCH_QUEUE' | 'ACK_GAP';

export type ApplyResult =
  | { ok: true; op: 'CREATE_QUEUE'; created: boolean }
  | { ok: true; op: 'APPEND'; seq: number; duplicate: boolean }
  | { ok: true; op: 'ACK'; position: number; advanced: boolean }
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
  const r = zCommand.safeParse(raw);
  if (!r.success) return { ok: false, code: 'BAD_COMMAND', reason: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  return { ok: true, value: r.data };
}

export function encodeQueueCommand(cmd: QueueCommand): string {
  return JSON.stringify(cmd);
}

interface Queue {
  messages: string[];
  readers: Map<string, number>;
}

const zSnapshot = z.object({
  v: z.literal(1),
  appliedIndex: z.number().int().min(0),
  queues: z.array(z.tuple([zQueue, z.object({ messages: z.array(z.string()), readers: z.array(z.tuple([zId, z.number().int().min(0)])) })])),
  dedup: z.array(z.tuple([zId, z.array(z.tuple([zId, z.number().int().min(1)]))])),
});

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
        this.queues.set(cmd.queue, { messages: [], readers: new Map() });
        return { ok: true, op: 'CREATE_QUEUE', created: true };
      }
      case 'APPEND': {
        const seen = this.dedup.get(cmd.clientId)?.get(cmd.reqId);
        if (seen !== undefined) return { ok: true, op: 'APPEND', seq: seen, duplicate: true };
        const q = this.queues.get(cmd.queue);
        if (!q) return { ok: false, code: 'NO_SUCH_QUEUE', reason: `no queue ${cmd.queue}` };
        q.messages.push(cmd.data);
        const seq = q.messages.length;
        this.remember(cmd.clientId, cmd.reqId, seq);
        return { ok: true, op: 'APPEND', seq, duplicate: false };
      }
      case 'ACK': {
        const q = this.queues.get(cmd.queue);
        if (!q) return { ok: false, code: 'NO_SUCH_QUEUE', reason: `no queue ${cmd.queue}` };
        const position = q.readers.get(cmd.reader) ?? 0;
        if (cmd.seq <= position) return { ok: true, op: 'ACK', position, advanced: false };
        if (cmd.seq !== position + 1 || cmd.seq > q.messages.length) {
          return { ok: false, code: 'ACK_GAP', reason: `ack ${cmd.seq} but position is ${position} and last seq ${q.messages.length}` };
        }
        q.readers.set(cmd.reader, cmd.seq);
        return { ok: true, op: 'ACK', position: cmd.seq, advanced: true };
      }
    }
  }

  private remember(clientId: string, reqId: string, seq: number): void {
    let m = this.dedup.get(clientId);
    if (!m) {
      m = new Map();
      this.dedup.set(clientId, m);
    }
    m.set(reqId, seq);
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
    const seq = (q.readers.get(reader) ?? 0) + 1;
    const data = q.messages[seq - 1];
    return data === undefined ? null : { seq, data };
  }

  position(queue: string, reader: string): number {
    return this.queues.get(queue)?.readers.get(reader) ?? 0;
  }

  lastSeq(queue: string): number {
    return this.queues.get(queue)?.messages.length ?? 0;
  }

  message(queue: string, seq: number): string | undefined {
    return this.queues.get(queue)?.messages[seq - 1];
  }

  queueNames(): string[] {
    return [...this.queues.keys()].sort();
  }

  readers(queue: string): Array<[string, number]> {
    return [...(this.queues.get(queue)?.readers ?? new Map<string, number>())].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  snapshot(): string {
    return JSON.stringify({
      v: 1,
      appliedIndex: this.appliedIndex,
      queues: [...this.queues].map(([name, q]) => [name, { messages: q.messages, readers: [...q.readers] }]),
      dedup: [...this.dedup].map(([client, m]) => [client, [...m]]),
    });
  }

  /** Replace the whole state with a snapshot image; throws on a malformed image. */
  restore(image: string): void {
    const s = zSnapshot.parse(JSON.parse(image));
    this.appliedIndex = s.appliedIndex;
    this.queues = new Map(s.queues.map(([name, q]) => [name, { messages: q.messages, readers: new Map(q.readers) }]));
    this.dedup = new Map(s.dedup.map(([client, pairs]) => [client, new Map(pairs)]));
  }

  static fromSnapshot(image: string): QueueState {
    const st = new QueueState();
    st.restore(image);
    return st;
  }
}
