import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameDecoder, encodeFrame, type FrameEvent } from '../../../src/server/mailbox/framing';
import { parseClientRequest, parsePeerFrame } from '../../../src/shared/schemas/mailbox';

function feed(decoder: FrameDecoder, bytes: Buffer, cuts: number[]): FrameEvent[] {
  const out: FrameEvent[] = [];
  let prev = 0;
  for (const c of [...cuts.filter((x) => x > 0 && x < bytes.length).sort((a, b) => a - b), bytes.length]) {
    out.push(...decoder.push(bytes.subarray(prev, c)));
    prev = c;
  }
  return out;
}

describe('mailbox framing', () => {
  it('reassembles frames however the byte stream is split', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(4000), { maxLength: 10 }), (values, cuts) => {
        const bytes = Buffer.concat(values.map((v) => encodeFrame(v)));
        const events = feed(new FrameDecoder(1 << 20), bytes, cuts);
        expect(events.map((e) => (e.kind === 'frame' ? e.value : e))).toEqual(values.map((v) => JSON.parse(JSON.stringify(v)) as unknown));
      }),
      { numRuns: 200 },
    );
  });

  it('skips an oversize frame split over several chunks and stays in sync', () => {
    const big = encodeFrame({ data: 'x'.repeat(5000) });
    const small = encodeFrame({ ok: 1 });
    const events = feed(new FrameDecoder(1000), Buffer.concat([small, big, small]), [3, 10, 700, 2500, 5003]);
    expect(events.map((e) => e.kind)).toEqual(['frame', 'oversize', 'frame']);
  });

  it('reports bad JSON without losing the next frame', () => {
    const body = Buffer.from('{"a":', 'utf8');
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    const events = [...new FrameDecoder(100).push(Buffer.concat([head, body, encodeFrame({ b: 2 })]))];
    expect(events[0]!.kind).toBe('bad_json');
    expect(events[1]).toEqual({ kind: 'frame', value: { b: 2 } });
  });
});

describe('mailbox schemas', () => {
  it('tells unknown operations from malformed known ones', () => {
    expect(parseClientRequest({ op: 'NUKE', corr: 1 })).toMatchObject({ ok: false, code: 'UNKNOWN_OP' });
    expect(parseClientRequest({ op: 'APPEND', corr: 1, queue: 'q', data: 5, reqId: 'r' })).toMatchObject({ ok: false, code: 'SCHEMA' });
    expect(parseClientRequest({ op: 'APPEND', corr: 1, queue: 'q', data: 'd', reqId: 'r', extra: 1 })).toMatchObject({ ok: false, code: 'SCHEMA' });
    expect(parseClientRequest({ op: 'APPEND', corr: 1, queue: 'inbox:ab', data: 'd', reqId: 'r' })).toMatchObject({ ok: true });
    expect(parseClientRequest('APPEND')).toMatchObject({ ok: false, code: 'SCHEMA' });
  });

  it('validates every Raft frame type and rejects negative terms', () => {
    const base = { clusterId: 'c', from: 'n1', to: 'n2', term: 3 };
    expect(parsePeerFrame({ type: 'HEARTBEAT', ...base, commit: 1, ctx: '' }).ok).toBe(true);
    expect(parsePeerFrame({ type: 'REPLICATE', ...base, prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: 1, index: 1, type: 'noop', data: '' }], commit: 0 }).ok).toBe(true);
    expect(parsePeerFrame({ type: 'ELECTION_REQUEST', ...base, term: -1, preVote: false, lastLogIndex: 0, lastLogTerm: 0, transfer: false })).toMatchObject({ ok: false, code: 'SCHEMA' });
    expect(parsePeerFrame({ type: 'DATA_SYNC_REQUEST', ...base, snapshot: { index: 5, term: 2, voters: ['n1'], learners: [], data: '{}' } }).ok).toBe(true);
    expect(parsePeerFrame({ type: 'GOSSIP', ...base })).toMatchObject({ ok: false, code: 'UNKNOWN_OP' });
  });
});

describe('mailbox framing cost', () => {
  it('copies each byte of a large frame fed in small chunks a bounded number of times (linear, not quadratic)', () => {
    const frame = encodeFrame({ data: 'z'.repeat(4 * 1024 * 1024) });
    const decoder = new FrameDecoder(8 * 1024 * 1024);
    let copied = 0;
    const origConcat = Buffer.concat;
    const origCopy = Buffer.prototype.copy;
    Buffer.concat = function (list: readonly Uint8Array[], total?: number) {
      copied += list.reduce((n, b) => n + b.length, 0);
      return origConcat.call(Buffer, list, total);
    } as typeof Buffer.concat;
    Buffer.prototype.copy = function (this: Buffer, ...args: Parameters<Buffer['copy']>) {
      const n = origCopy.apply(this, args);
      copied += n;
      return n;
    };
    const events: FrameEvent[] = [];
    try {
      for (let i = 0; i < frame.length; i += 16 * 1024) events.push(...decoder.push(frame.subarray(i, i + 16 * 1024)));
    } finally {
      Buffer.concat = origConcat;
      Buffer.prototype.copy = origCopy;
    }
    expect(events.map((e) => e.kind)).toEqual(['frame']);
    expect(copied).toBeLessThanOrEqual(2 * frame.length);
  });

  it('a 1-byte-at-a-time frame decodes the same', () => {
    const frame = encodeFrame({ a: 'b'.repeat(3000), n: [1, 2, 3] });
    const decoder = new FrameDecoder(1 << 20);
    const events: FrameEvent[] = [];
    for (let i = 0; i < frame.length; i++) events.push(...decoder.push(frame.subarray(i, i + 1)));
    expect(events).toEqual([{ kind: 'frame', value: { a: 'b'.repeat(3000), n: [1, 2, 3] } }]);
  });

  it('tells a frame whose MAC fails from bad JSON', () => {
    const decoder = new FrameDecoder(1 << 20);
    decoder.setOpener({ open: (b) => (b[0] === 0x21 ? b.subarray(1) : null) });
    const ok = Buffer.concat([Buffer.from('!'), Buffer.from('{"x":1}')]);
    const head = (b: Buffer): Buffer => {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(b.length);
      return Buffer.concat([h, b]);
    };
    const events = [...decoder.push(Buffer.concat([head(ok), head(Buffer.from('{"x":1}'))]))];
    expect(events).toEqual([{ kind: 'frame', value: { x: 1 } }, { kind: 'bad_mac' }]);
  });
});
