// The hand-written fast paths of the hot frames must never accept what the schemas refuse, nor
// change what they accept: every frame here (valid ones and many broken variants) is checked both ways.
import { describe, expect, it } from 'vitest';
import {
  AnyReplySchema,
  ClientRequestSchema,
  MAX_DATA_CHARS,
  PeerFrameSchema,
  fastAppend,
  fastOkReply,
  fastPeerFrame,
} from '../../../src/shared/schemas/mailbox';
import { MAX_DATA_BYTES, QueueCommandSchema, fastAppendCommand } from '../../../src/server/mailbox/core/queue-state';
import type { z } from 'zod';

const ODD: unknown[] = [
  undefined, null, true, false, 0, -1, -0, 1.5, 2 ** 53, Number.NaN, Infinity, '', 'x', 'bad id!', 'a'.repeat(64), 'a'.repeat(65), 'a'.repeat(129),
  'a'.repeat(201), 'q\u{1F600}', [], {}, [{}], 'noop', 'REPLICATE', 'REPLY',
];

function variants(base: Record<string, unknown>): unknown[] {
  const out: unknown[] = [base, { ...base, extra: 1 }, { ...base, __proto__: { injected: 1 } }, JSON.parse(JSON.stringify(base).replace('{', '{"__proto__":1,')), [base], null, 'str'];
  for (const key of Object.keys(base)) {
    const { [key]: _dropped, ...rest } = base;
    out.push(rest);
    for (const v of ODD) out.push({ ...base, [key]: v });
  }
  return out;
}

function checkParity(name: string, base: Record<string, unknown>[], fast: (raw: never) => unknown, schema: z.ZodType): number {
  let accepted = 0;
  for (const b of base) {
    for (const v of variants(b)) {
      const f = typeof v === 'object' && v !== null ? fast(v as never) : null;
      if (f === null) continue;
      accepted++;
      const r = schema.safeParse(v);
      expect(r.success, `${name}: fast path accepted what the schema refuses: ${JSON.stringify(v)?.slice(0, 300)}`).toBe(true);
      expect(r.data, `${name}: fast path and schema disagree on ${JSON.stringify(v)?.slice(0, 300)}`).toEqual(f);
    }
    expect(typeof b === 'object' && fast(b as never), `${name}: the fast path must take the plain frame ${JSON.stringify(b).slice(0, 200)}`).toBeTruthy();
  }
  return accepted;
}

const peer = { clusterId: 'parley-mailbox', from: 'n1', to: 'n2', term: 3 };
const entry = { term: 3, index: 8, type: 'command', data: '{"op":"APPEND"}' };

describe('mailbox schema fast paths agree with the schemas', () => {
  it('broker frames: REPLICATE (entries too), its answer, HEARTBEAT and its answer', () => {
    const frames = [
      { type: 'REPLICATE', ...peer, prevLogIndex: 7, prevLogTerm: 3, entries: [entry], commit: 6 },
      { type: 'REPLICATE', ...peer, prevLogIndex: 0, prevLogTerm: 0, entries: [], commit: 0 },
      { type: 'REPLICATE_RESPONSE', ...peer, success: true, index: 8, hintIndex: 0, hintTerm: 0 },
      { type: 'HEARTBEAT', ...peer, commit: 8, ctx: '' },
      { type: 'HEARTBEAT_RESPONSE', ...peer, ctx: 'abc' },
    ];
    const withBadEntries = variants(entry).map((e) => ({ ...frames[0], entries: [entry, e] }));
    let n = checkParity('peer', frames, fastPeerFrame, PeerFrameSchema);
    for (const f of withBadEntries) {
      if (fastPeerFrame(f as never) === null) continue;
      n++;
      expect(PeerFrameSchema.safeParse(f).success, JSON.stringify(f)).toBe(true);
    }
    expect(n).toBeGreaterThan(5);
  });

  it('client APPEND (without auth) and successful replies', () => {
    const appends = [
      { op: 'APPEND', corr: 1, queue: 'q-1', data: 'payload', reqId: 'r1' },
      { op: 'APPEND', corr: 0, clusterId: 'parley-mailbox', queue: 'inbox:x', data: '', reqId: 'r1', clientId: 'c' },
      { op: 'APPEND', corr: 2, queue: 'q', data: 'x'.repeat(MAX_DATA_CHARS), reqId: 'r' },
    ];
    checkParity('append', appends, fastAppend, ClientRequestSchema);
    // at the length cap zod counts code points: only the schema may decide
    expect(fastAppend({ op: 'APPEND', corr: 2, queue: 'q', data: '\u{1F600}'.repeat(MAX_DATA_CHARS / 2 + 1), reqId: 'r' })).toBeNull();
    expect(fastAppend({ op: 'APPEND', corr: 2, queue: 'q', data: 'x', reqId: 'r', auth: { by: 'a'.repeat(64), ts: 1, sig: 's' } })).toBeNull();
    checkParity('reply', [{ op: 'REPLY', corr: 4, ok: true, clusterId: 'parley-mailbox', seq: 9 }], fastOkReply, AnyReplySchema);
    expect(fastOkReply({ op: 'REPLY', corr: 4, ok: false, clusterId: 'c', code: 'TIMEOUT', reason: '' })).toBeNull();
  });

  it('replicated APPEND commands, with and without the inbox stamps', () => {
    const cmds = [
      { op: 'APPEND', queue: 'q', data: 'hello', reqId: 'r', clientId: 'c' },
      { op: 'APPEND', queue: 'inbox:ab', data: 'x'.repeat(1000), reqId: 'r', clientId: 'c', at: 5, exp: 9, create: true, maxMessages: 10, maxBytes: 100 },
    ];
    checkParity('command', cmds, fastAppendCommand, QueueCommandSchema);
    // possibly over MAX_DATA_BYTES once encoded: the schema measures it
    expect(fastAppendCommand({ ...cmds[0], data: '\u00e9'.repeat(MAX_DATA_BYTES / 3 + 1) })).toBeNull();
  });
});
