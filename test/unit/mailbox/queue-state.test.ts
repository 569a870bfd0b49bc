import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEDUP_WINDOW_PER_CLIENT, MAX_DATA_BYTES, QueueState, encodeQueueCommand, parseQueueCommand, type QueueCommand,
} from '../../../src/server/mailbox/core/queue-state';
import type { Entry } from '../../../src/server/mailbox/core/types';

let nextIndex = 1;
function entry(cmd: QueueCommand | string, index = nextIndex++): Entry {
  return { term: 1, index, type: 'command', data: typeof cmd === 'string' ? cmd : encodeQueueCommand(cmd) };
}
const append = (queue: string, data: string, reqId: string, clientId = 'c1'): QueueCommand => ({ op: 'APPEND', queue, data, reqId, clientId });

describe('QueueState', () => {
  it('numbers appends per queue from 1 without gaps', () => {
    const s = new QueueState();
    s.apply(entry({ op: 'CREATE_QUEUE', queue: 'a' }));
    s.apply(entry({ op: 'CREATE_QUEUE', queue: 'b' }));
    expect(s.apply(entry(append('a', 'x', 'r1')))).toEqual({ ok: true, op: 'APPEND', seq: 1, duplicate: false });
    expect(s.apply(entry(append('b', 'y', 'r2')))).toEqual({ ok: true, op: 'APPEND', seq: 1, duplicate: false });
    expect(s.apply(entry(append('a', 'z', 'r3')))).toEqual({ ok: true, op: 'APPEND', seq: 2, duplicate: false });
    expect([s.message('a', 1), s.message('a', 2), s.message('b', 1)]).toEqual(['x', 'z', 'y']);
  });

  it('a retried request id returns the original seq and adds nothing', () => {
    const s = new QueueState();
    s.apply(entry({ op: 'CREATE_QUEUE', queue: 'a' }));
    s.apply(entry(append('a', 'x', 'r1')));
    s.apply(entry(append('a', 'y', 'r2')));
    expect(s.apply(entry(append('a', 'x', 'r1')))).toEqual({ ok: true, op: 'APPEND', seq: 1, duplicate: true });
    expect(s.lastSeq('a')).toBe(2);
    // the same reqId from another client is a different request
    expect(s.apply(entry(append('a', 'x', 'r1', 'c2')))).toMatchObject({ seq: 3, duplicate: false });
  });

  it('forgets request ids beyond the per-client window, deterministically', () => {
    const s = new QueueState();
    s.apply(entry({ op: 'CREATE_QUEUE', queue: 'a' }));
    for (let i = 0; i <= DEDUP_WINDOW_PER_CLIENT; i++) s.apply(entry(append('a', `d${i}`, `r${i}`)));
    expect(s.apply(entry(append('a', 'd0', 'r0')))).toMatchObject({ duplicate: false });
    expect(s.apply(entry(append('a', `d${DEDUP_WINDOW_PER_CLIENT}`, `r${DEDUP_WINDOW_PER_CLIENT}`)))).toMatchObject({ duplicate: true });
  });

  it('reads the next message after the reader\'s position; ACK moves it one step at a time', () => {
    const s = new QueueState();
    s.apply(entry({ op: 'CREATE_QUEUE', queue: 'q' }));
    for (const d of ['m1', 'm2', 'm3']) s.apply(entry(append('q', d, d)));
    expect(s.read('q', 'bob')).toEqual({ seq: 1, data: 'm1' });
    expect(s.apply(entry({ op: 'ACK', queue: 'q', reader: 'bob', seq: 2 }))).toMatchObject({ ok: false, code: 'ACK_GAP' });
    expect(s.apply(entry({ op: 'ACK', queue: 'q', reader: 'bob', seq: 1 }))).toEqual({ ok: true, op: 'ACK', position: 1, advanced: true });
    expect(s.apply(entry({ op: 'ACK', queue: 'q', reader: 'bob', seq: 1 }))).toEqual({ ok: true, op: 'ACK', position: 1, advanced: false });
    expect(s.read('q', 'bob')).toEqual({ seq: 2, data: 'm2' });
    expect(s.read('q', 'alice')).toEqual({ seq: 1, data: 'm1' });
    s.apply(entry({ op: 'ACK', queue: 'q', reader: 'bob', seq: 2 }));
    s.apply(entry({ op: 'ACK', queue: 'q', reader: 'bob', seq: 3 }));
    expect(s.read('q', 'bob')).toBeNull();
    expect(s.apply(entry({ op: 'ACK', queue: 'q', reader: 'bob', seq: 4 }))).toMatchObject({ ok: false, code: 'ACK_GAP' });
    expect(s.position('q', 'bob')).toBe(3);
  });

  it('rejects appends and ACKs on unknown queues; CREATE_QUEUE is idempotent', () => {
    const s = new QueueState();
    expect(s.apply(entry(append('nope', 'x', 'r')))).toMatchObject({ ok: false, code: 'NO_SUCH_QUEUE' });
    expect(s.apply(entry({ op: 'CREATE_QUEUE', queue: 'q' }))).toEqual({ ok: true, op: 'CREATE_QUEUE', created: true });
    expect(s.apply(entry({ op: 'CREATE_QUEUE', queue: 'q' }))).toEqual({ ok: true, op: 'CREATE_QUEUE', created: false });
    expect(s.read('nope', 'r')).toBeNull();
  });

  it('validates commands: names, sizes, types, unknown fields', () => {
    expect(parseQueueCommand('{').ok).toBe(false);
    expect(parseQueueCommand({ op: 'CREATE_QUEUE', queue: '' }).ok).toBe(false);
    expect(parseQueueCommand({ op: 'CREATE_QUEUE', queue: 'a/b' }).ok).toBe(false);
    expect(parseQueueCommand({ op: 'CREATE_QUEUE', queue: 'x'.repeat(129) }).ok).toBe(false);
    expect(parseQueueCommand({ op: 'CREATE_QUEUE', queue: 'x'.repeat(128) }).ok).toBe(true);
    expect(parseQueueCommand({ op: 'CREATE_QUEUE', queue: 'q', extra: 1 }).ok).toBe(false);
    expect(parseQueueCommand({ op: 'DROP', queue: 'q' }).ok).toBe(false);
    expect(parseQueueCommand(append('q', 'x'.repeat(MAX_DATA_BYTES), 'r')).ok).toBe(true);
    expect(parseQueueCommand(append('q', 'x'.repeat(MAX_DATA_BYTES + 1), 'r')).ok).toBe(false);
    expect(parseQueueCommand(append('q', 'é'.repeat(MAX_DATA_BYTES / 2 + 1), 'r')).ok).toBe(false); // counted in UTF-8 bytes
    expect(parseQueueCommand({ op: 'ACK', queue: 'q', reader: 'r', seq: 0 }).ok).toBe(false);
    expect(parseQueueCommand({ op: 'ACK', queue: 'q', reader: 'r', seq: 1.5 }).ok).toBe(false);
    const bad = parseQueueCommand({ op: 'APPEND', queue: 'q', data: 1, reqId: 'r', clientId: 'c' });
    expect(bad).toMatchObject({ ok: false, code: 'BAD_COMMAND' });
    // a malformed log entry is answered, not thrown, and still advances the applied index
    const s = new QueueState();
    expect(s.apply(entry('garbage', 1))).toMatchObject({ ok: false, code: 'BAD_COMMAND' });
    expect(s.appliedIndex).toBe(1);
  });

  it('ignores noop/config entries and entries already applied (re-delivery after restart)', () => {
    const s = new QueueState();
    s.apply({ term: 1, index: 1, type: 'noop', data: '' });
    s.apply(entry({ op: 'CREATE_QUEUE', queue: 'q' }, 2));
    s.apply(entry(append('q', 'x', 'r1'), 3));
    expect(s.apply(entry(append('q', 'y', 'r2'), 3))).toBeNull();
    expect(s.lastSeq('q')).toBe(1);
    expect(s.appliedIndex).toBe(3);
  });

  it('snapshot/restore round-trips the whole state, including de-dup and positions', () => {
    const s = new QueueState();
    s.apply(entry({ op: 'CREATE_QUEUE', queue: 'q' }, 1));
    s.apply(entry(append('q', 'x', 'r1'), 2));
    s.apply(entry(append('q', 'y', 'r2'), 3));
    s.apply(entry({ op: 'ACK', queue: 'q', reader: 'bob', seq: 1 }, 4));
    const t = QueueState.fromSnapshot(s.snapshot());
    expect(t.snapshot()).toBe(s.snapshot());
    expect(t.appliedIndex).toBe(4);
    expect(t.read('q', 'bob')).toEqual({ seq: 2, data: 'y' });
    expect(t.apply(entry(append('q', 'x', 'r1'), 5))).toMatchObject({ seq: 1, duplicate: true });
    expect(() => QueueState.fromSnapshot('{"v":2}')).toThrow();
  });

  it('matches a simple model for random command sequences', () => {
    const cmd = fc.oneof(
      fc.record({ op: fc.constant('CREATE_QUEUE' as const), queue: fc.constantFrom('a', 'b') }),
      fc.record({ op: fc.constant('APPEND' as const), queue: fc.constantFrom('a', 'b'), data: fc.string({ maxLength: 4 }), reqId: fc.constantFrom('1', '2', '3', '4', '5', '6'), clientId: fc.constantFrom('x', 'y') }),
      fc.record({ op: fc.constant('ACK' as const), queue: fc.constantFrom('a', 'b'), reader: fc.constantFrom('r', 's'), seq: fc.integer({ min: 1, max: 6 }) }),
    );
    fc.assert(fc.property(fc.array(cmd, { maxLength: 60 }), (cmds) => {
      const s = new QueueState();
      const model = new Map<string, { msgs: string[]; pos: Map<string, number> }>();
      const seen = new Map<string, number>();
      cmds.forEach((c, i) => {
        const res = s.apply(entry(c, i + 1));
        if (c.op === 'CREATE_QUEUE') {
          if (!model.has(c.queue)) model.set(c.queue, { msgs: [], pos: new Map() });
        } else if (c.op === 'APPEND') {
          const k = `${c.clientId}/${c.reqId}`;
          const q = model.get(c.queue);
          if (seen.has(k)) expect(res).toMatchObject({ seq: seen.get(k), duplicate: true });
          else if (!q) expect(res).toMatchObject({ ok: false });
          else {
            q.msgs.push(c.data);
            seen.set(k, q.msgs.length);
            expect(res).toMatchObject({ seq: q.msgs.length, duplicate: false });
          }
        } else {
          const q = model.get(c.queue);
          const p = q?.pos.get(c.reader) ?? 0;
          if (q && c.seq === p + 1 && c.seq <= q.msgs.length) q.pos.set(c.reader, c.seq);
          expect(s.position(c.queue, c.reader)).toBe(q?.pos.get(c.reader) ?? 0);
        }
      });
      for (const [name, q] of model) {
        expect(s.lastSeq(name)).toBe(q.msgs.length);
        q.msgs.forEach((d, i) => expect(s.message(name, i + 1)).toBe(d));
      }
    }), { numRuns: 300, seed: 42 });
  });
});

describe('QueueState: expiry and caps (deterministic, from the entries alone)', () => {
  const dep = (queue: string, data: string, reqId: string, at: number, exp: number, extra: Partial<QueueCommand> = {}): QueueCommand =>
    ({ op: 'APPEND', queue, data, reqId, clientId: 'dep:x', at, exp, create: true, ...extra }) as QueueCommand;

  it('creates on first deposit, purges the expired head at a later command\'s time, keeps seqs gap-free', () => {
    const s = new QueueState();
    expect(s.apply(entry(dep('inbox:q', 'a', 'r1', 100, 1000)))).toMatchObject({ ok: true, seq: 1 });
    expect(s.apply(entry(dep('inbox:q', 'b', 'r2', 200, 1100)))).toMatchObject({ ok: true, seq: 2 });
    expect(s.apply(entry(dep('inbox:q', 'c', 'r3', 900, 5000)))).toMatchObject({ ok: true, seq: 3 });
    expect(s.read('inbox:q', 'dev')).toEqual({ seq: 1, data: 'a' });
    expect(s.apply(entry({ op: 'EXPIRE', at: 1050 }))).toEqual({ ok: true, op: 'EXPIRE', purged: 1 });
    // a reader behind the head continues at the first message still held, and may ACK it
    expect(s.read('inbox:q', 'dev')).toEqual({ seq: 2, data: 'b' });
    expect(s.apply(entry({ op: 'ACK', queue: 'inbox:q', reader: 'dev', seq: 2, at: 1060 }))).toMatchObject({ ok: true, advanced: true });
    expect(s.apply(entry({ op: 'EXPIRE', at: 9999 }))).toMatchObject({ purged: 2 });
    expect(s.read('inbox:q', 'dev')).toBeNull();
    expect(s.apply(entry(dep('inbox:q', 'd', 'r4', 10_000, 20_000)))).toMatchObject({ seq: 4 });
    expect(s.read('inbox:q', 'other')).toEqual({ seq: 4, data: 'd' });
    expect(s.hasExpired(19_999)).toBe(false);
    expect(s.hasExpired(20_000)).toBe(true);
  });

  it('refuses deposits over the message or byte cap, after purging what expired', () => {
    const s = new QueueState();
    const cap = { maxMessages: 2, maxBytes: 10 };
    s.apply(entry(dep('inbox:q', 'aaaa', 'r1', 0, 100, cap)));
    s.apply(entry(dep('inbox:q', 'bbbb', 'r2', 0, 200, cap)));
    expect(s.apply(entry(dep('inbox:q', 'c', 'r3', 50, 300, cap)))).toMatchObject({ ok: false, code: 'QUEUE_FULL' });
    expect(s.apply(entry(dep('inbox:q', 'c', 'r3', 150, 300, cap)))).toMatchObject({ ok: true, seq: 3 });
    expect(s.apply(entry(dep('inbox:q', 'ddddddd', 'r4', 150, 300, { maxBytes: 10 })))).toMatchObject({ ok: false, code: 'QUEUE_FULL' });
    expect(s.held('inbox:q')).toEqual({ messages: 2, bytes: 5 });
  });

  it('replicas applying the same entries agree, also through a snapshot (v2) and from a v1 image', () => {
    const cmds: QueueCommand[] = [];
    for (let i = 0; i < 50; i++) cmds.push(dep('inbox:a', `m${i}`, `r${i}`, i * 10, i * 10 + 95));
    cmds.push({ op: 'EXPIRE', at: 300 });
    cmds.push({ op: 'ACK', queue: 'inbox:a', reader: 'p', seq: 30, at: 310 } as QueueCommand);
    const a = new QueueState();
    const b = new QueueState();
    cmds.forEach((c, i) => {
      a.apply({ term: 1, index: i + 1, type: 'command', data: encodeQueueCommand(c) });
      b.apply({ term: 1, index: i + 1, type: 'command', data: encodeQueueCommand(c) });
    });
    expect(a.snapshot()).toBe(b.snapshot());
    const c = QueueState.fromSnapshot(a.snapshot());
    expect(c.snapshot()).toBe(a.snapshot());
    expect(c.read('inbox:a', 'p')).toEqual(a.read('inbox:a', 'p'));
    const v1 = QueueState.fromSnapshot(JSON.stringify({ v: 1, appliedIndex: 3, queues: [['q', { messages: ['x', 'y'], readers: [['p', 1]] }]], dedup: [] }));
    expect(v1.read('q', 'p')).toEqual({ seq: 2, data: 'y' });
  });
});
