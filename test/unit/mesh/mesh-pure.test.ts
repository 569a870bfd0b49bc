import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArgsEmitter } from '../../../src/shared/typed-emitter';
import { MAX_FRAME_BYTES, fitsFrame, utf8ByteLength } from '../../../src/renderer/mesh/frame';
import { candidateUfrag, parseSignal, sdpOrigin } from '../../../src/renderer/mesh/signals';

describe('mesh frame size', () => {
  it('utf8ByteLength agrees with TextEncoder for any string', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => utf8ByteLength(s) === new TextEncoder().encode(s).length));
  });

  it('fitsFrame is exactly "UTF-8 length <= limit"', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.integer({ min: 0, max: 1200 }), (s, limit) =>
      fitsFrame(s, limit) === (new TextEncoder().encode(s).length <= limit)));
    expect(fitsFrame('x'.repeat(MAX_FRAME_BYTES))).toBe(true);
    expect(fitsFrame('€'.repeat(MAX_FRAME_BYTES / 3 + 1))).toBe(false);
  });
});

describe('mesh signal parsing', () => {
  it('never throws on arbitrary input and only accepts the three kinds', () => {
    fc.assert(fc.property(fc.anything(), fc.anything(), (kind, payload) => {
      const r = parseSignal(kind, payload);
      if (r.ok) expect(['offer', 'answer', 'iceCandidate']).toContain(r.signal.kind);
      else expect(['unknown-kind', 'malformed-payload']).toContain(r.reason);
    }));
  });

  it('a kind whose toString is missing, not a function or throwing is refused, not thrown on', () => {
    const hostile: unknown[] = [
      { toString: false }, Object.create(null), { toString() { throw new Error('boom'); } }, [{ toString: 1 }], Symbol('k'), () => 0, 10n,
    ];
    for (const kind of hostile) {
      const r = parseSignal(kind, {});
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toBe('unknown-kind');
    }
  });

  it('accepts well-formed payloads and keeps only known candidate fields', () => {
    const offer = parseSignal('offer', { sdp: { type: 'offer', sdp: 'v=0' } });
    expect(offer).toEqual({ ok: true, signal: { kind: 'offer', description: { type: 'offer', sdp: 'v=0' } } });
    const cand = parseSignal('iceCandidate', { candidate: { candidate: 'candidate:1', sdpMid: '0', sdpMLineIndex: 0, extra: 1 } });
    expect(cand).toEqual({ ok: true, signal: { kind: 'iceCandidate', candidate: { candidate: 'candidate:1', sdpMid: '0', sdpMLineIndex: 0 } } });
    expect(parseSignal('answer', { sdp: { type: 'offer', sdp: 'v=0' } }).ok).toBe(false);
  });

  it('reads the SDP origin and candidate ufrag', () => {
    expect(sdpOrigin('v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n')).toEqual({ sessionId: '4611731400430051336', version: 2n });
    expect(sdpOrigin('v=0\r\n')).toBeNull();
    expect(candidateUfrag({ candidate: 'candidate:1 1 udp 1 10.0.0.1 9 typ host ufrag AbCd network-id 1' })).toBe('AbCd');
    expect(candidateUfrag({ candidate: 'candidate:1', usernameFragment: 'zz' })).toBe('zz');
    expect(candidateUfrag({ candidate: 'candidate:1 1 udp 1 10.0.0.1 9 typ host' })).toBeNull();
  });
});

describe('mesh emitter', () => {
  it('delivers to every listener, isolates a throwing one, and unsubscribes', () => {
    const errors: unknown[] = [];
    const e = new ArgsEmitter<{ x: [number] }>((err) => errors.push(err));
    const got: number[] = [];
    e.on('x', () => {
      throw new Error('bad');
    });
    const off = e.on('x', (n) => got.push(n));
    e.emit('x', 1);
    off();
    e.emit('x', 2);
    expect(got).toEqual([1]);
    expect(errors).toHaveLength(2);
  });
});
