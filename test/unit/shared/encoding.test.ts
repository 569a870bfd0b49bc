import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalBytes, canonicalJson, fromBase64, fromHex, fromUtf8, toBase64, toHex, tryFromBase64, utf8, utf8Length,
} from '../../../src/shared/encoding';
import { isId, randomId } from '../../../src/shared/ids';

function shuffleKeys(value: unknown, random: () => number): unknown {
  if (Array.isArray(value)) return value.map((v) => shuffleKeys(v, random));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: shuffleKeys(v, random), enumerable: true, writable: true, configurable: true });
  return out;
}

describe('hex and base64', () => {
  it('round-trip arbitrary bytes and match Node’s Buffer encoders', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(toHex(bytes)).toBe(Buffer.from(bytes).toString('hex'));
        expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
        expect(fromHex(toHex(bytes))).toEqual(bytes);
        expect(fromBase64(toBase64(bytes))).toEqual(bytes);
      }),
    );
    const big = new Uint8Array(200_000).map((_, i) => i * 7);
    expect(fromBase64(toBase64(big))).toEqual(big);
  });

  it('rejects malformed and non-canonical input', () => {
    expect(() => fromHex('abc')).toThrow();
    expect(() => fromHex('zz')).toThrow();
    for (const bad of ['A', 'AA', 'AA=', 'AAA', 'A===', 'AB==', 'AAB=', 'AA==AA==', ' AAAA', 'AA-_', 'AAAA\n']) {
      expect(tryFromBase64(bad), bad).toBeNull();
    }
    expect(tryFromBase64('AA==')).toEqual(new Uint8Array([0]));
    expect(tryFromBase64('AAE=')).toEqual(new Uint8Array([0, 1]));
  });

  it('base64 decoding is injective: distinct strings never decode to the same bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/='), maxLength: 12 }), (s) => {
        const bytes = tryFromBase64(s);
        if (bytes) expect(toBase64(bytes)).toBe(s);
      }),
    );
  });

  it('utf8 is strict and utf8Length matches the encoder', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(utf8Length(s)).toBe(utf8(s).length);
      }),
    );
    expect(utf8Length('\ud800x')).toBe(utf8('\ud800x').length);
    expect(() => fromUtf8(new Uint8Array([0xc3]))).toThrow();
    expect(fromUtf8(utf8('€🙂'))).toBe('€🙂');
  });
});

describe('canonicalJson', () => {
  it('is independent of key order and parses back to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer(), (value, seed) => {
        let state = seed;
        const random = () => ((state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
        const canonical = canonicalJson(value);
        expect(canonicalJson(shuffleKeys(value, random))).toBe(canonical);
        expect(canonicalJson(JSON.parse(canonical))).toBe(canonical);
        expect(canonicalBytes(value)).toEqual(utf8(canonical));
      }),
    );
  });

  it('sorts keys, uses no whitespace and escapes like JSON', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x"y'], c: { z: 0, y: -1.5 } })).toBe('{"a":[true,null,"x\\"y"],"b":1,"c":{"y":-1.5,"z":0}}');
    expect(canonicalJson({ B: 1, a: 2, '': 3 })).toBe('{"":3,"B":1,"a":2}');
  });

  it('rejects values JSON cannot represent faithfully', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [NaN, Infinity, -Infinity, undefined, { a: undefined }, [undefined], () => 1, Symbol('s'), 10n, new Date(0), new Uint8Array(2), cyclic]) {
      expect(() => canonicalJson(bad)).toThrow();
    }
    expect(canonicalJson({ a: [{}, []] })).toBe('{"a":[{},[]]}');
  });
});

describe('ids', () => {
  it('are 128-bit lowercase hex and unique', () => {
    const ids = new Set(Array.from({ length: 1000 }, randomId));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(isId(id)).toBe(true);
    expect(isId('A'.repeat(32))).toBe(false);
    expect(isId('a'.repeat(31))).toBe(false);
    expect(isId(42)).toBe(false);
  });
});
