import { describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { naclSigner } from '../../../src/shared/crypto';
import { utf8 } from '../../../src/shared/encoding';
import {
  decodeEnvelope, encodeEnvelope, MAX_ENVELOPE_BYTES, signEnvelope, UNSIGNED, unsignedEnvelope, type Envelope, type VerifyOptions,
} from '../../../src/shared/envelope';
import { RejectCounter } from '../../../src/shared/errors';
import { generateIdentity } from '../../../src/shared/identity';
import { randomId } from '../../../src/shared/ids';
import { ReplayGuard } from '../../../src/shared/replay';

const alice = generateIdentity();
const bob = generateIdentity();
const carol = generateIdentity();
const NOW = 1_750_000_000_000;

function sample(overrides: Partial<{ ts: number; to: string; body: unknown }> = {}): Envelope {
  return signEnvelope(
    { type: 'CHAT_MESSAGE', to: overrides.to ?? bob.userId, body: overrides.body ?? { text: 'héllo ✓ 🙂', sentAt: NOW }, ts: overrides.ts ?? NOW },
    alice,
    nodeSigner,
  );
}

function opts(extra: Partial<VerifyOptions> = {}): VerifyOptions {
  return { self: bob.userId, now: NOW, signer: nodeSigner, ...extra };
}

describe('envelope', () => {
  it('round-trips through encode/decode with both signers, as string and as bytes', () => {
    const env = sample();
    for (const signer of [nodeSigner, naclSigner]) {
      const asString = decodeEnvelope(encodeEnvelope(env), opts({ signer }));
      const asBytes = decodeEnvelope(utf8(encodeEnvelope(env)), opts({ signer }));
      expect(asString).toEqual({ ok: true, value: env });
      expect(asBytes).toEqual({ ok: true, value: env });
    }
    expect(env.from).toBe(alice.userId);
    expect(env.id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('rejects every single-byte tamper of the encoded envelope (or decodes it to the identical envelope)', () => {
    const env = sample();
    const original = utf8(encodeEnvelope(env));
    const codes: Record<string, number> = {};
    let accepted = 0;
    for (let pos = 0; pos < original.length; pos++) {
      for (const mask of [0x01, 0x02, 0x20, 0x80]) {
        const mutated = original.slice();
        mutated[pos] = mutated[pos]! ^ mask;
        const result = decodeEnvelope(mutated, opts());
        if (result.ok) {
          accepted++;
          expect(result.value).toEqual(env);
        } else {
          codes[result.code] = (codes[result.code] ?? 0) + 1;
          expect(result.reason.length).toBeGreaterThan(0);
        }
      }
    }
    expect(accepted).toBe(0);
    // Mutations inside signed fields must reach (and fail) the signature check.
    expect(codes.BAD_SIGNATURE ?? 0).toBeGreaterThan(20);
    expect(codes.BAD_JSON ?? 0).toBeGreaterThan(0);
    expect(codes.SCHEMA ?? 0).toBeGreaterThan(0);
  });

  it('rejects a tampered body, sender or timestamp even when re-encoded as valid JSON', () => {
    const env = sample();
    const cases: Envelope[] = [
      { ...env, body: { text: 'hellO', sentAt: NOW } },
      { ...env, ts: env.ts + 1 },
      { ...env, from: carol.userId },
      { ...env, type: 'ACK' },
      { ...env, id: randomId() },
    ];
    for (const forged of cases) {
      const result = decodeEnvelope(encodeEnvelope(forged), opts());
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.code).toBe('BAD_SIGNATURE');
    }
  });

  it('rejects a signature made by the wrong key', () => {
    const env = sample();
    const byCarol = signEnvelope({ type: env.type, to: env.to, body: env.body, id: env.id, ts: env.ts }, carol, nodeSigner);
    const forged = { ...env, sig: byCarol.sig };
    const result = decodeEnvelope(encodeEnvelope(forged), opts());
    expect(result).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
  });

  it('rejects an envelope addressed to someone else', () => {
    const result = decodeEnvelope(encodeEnvelope(sample({ to: carol.userId })), opts());
    expect(result).toMatchObject({ ok: false, code: 'WRONG_RECIPIENT' });
  });

  it('rejects stale and future timestamps outside the skew, accepts at the edges', () => {
    const skew = 60_000;
    expect(decodeEnvelope(encodeEnvelope(sample({ ts: NOW - skew - 1 })), opts({ maxSkewMs: skew }))).toMatchObject({ ok: false, code: 'STALE' });
    expect(decodeEnvelope(encodeEnvelope(sample({ ts: NOW + skew + 1 })), opts({ maxSkewMs: skew }))).toMatchObject({ ok: false, code: 'FUTURE' });
    expect(decodeEnvelope(encodeEnvelope(sample({ ts: NOW - skew })), opts({ maxSkewMs: skew })).ok).toBe(true);
    expect(decodeEnvelope(encodeEnvelope(sample({ ts: NOW + skew })), opts({ maxSkewMs: skew })).ok).toBe(true);
    // default skew is 5 minutes
    expect(decodeEnvelope(encodeEnvelope(sample({ ts: NOW - 5 * 60_000 - 1 })), opts())).toMatchObject({ ok: false, code: 'STALE' });
  });

  it('rejects a replay, and forged copies do not poison the replay cache', () => {
    const replay = new ReplayGuard({ windowMs: 10 * 60_000, maxEntries: 1000, now: () => NOW });
    const env = sample();
    // A forgery carrying the genuine id arrives first: it must not be recorded.
    const forged = { ...env, body: { text: 'forged', sentAt: NOW } };
    expect(decodeEnvelope(encodeEnvelope(forged), opts({ replay }))).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    // Same for a genuine envelope that fails a later check (wrong recipient).
    expect(decodeEnvelope(encodeEnvelope(env), opts({ replay, self: carol.userId }))).toMatchObject({ ok: false, code: 'WRONG_RECIPIENT' });
    expect(replay.has(env.id)).toBe(false);
    expect(decodeEnvelope(encodeEnvelope(env), opts({ replay })).ok).toBe(true);
    expect(decodeEnvelope(encodeEnvelope(env), opts({ replay }))).toMatchObject({ ok: false, code: 'REPLAY' });
  });

  it('rejects oversize input before parsing, for strings and bytes, counting multi-byte characters', () => {
    const big = sample({ body: { text: 'x'.repeat(MAX_ENVELOPE_BYTES) } });
    expect(decodeEnvelope(encodeEnvelope(big), opts())).toMatchObject({ ok: false, code: 'OVERSIZE' });
    expect(decodeEnvelope(utf8(encodeEnvelope(big)), opts())).toMatchObject({ ok: false, code: 'OVERSIZE' });
    // 30,000 three-byte characters: under the limit in UTF-16 units, over it in UTF-8 bytes.
    const wide = sample({ body: { text: '€'.repeat(30_000) } });
    const encoded = encodeEnvelope(wide);
    expect(encoded.length).toBeLessThan(MAX_ENVELOPE_BYTES);
    expect(decodeEnvelope(encoded, opts())).toMatchObject({ ok: false, code: 'OVERSIZE' });
    expect(decodeEnvelope(encoded, opts({ maxBytes: 200_000 })).ok).toBe(true);
    expect(decodeEnvelope(encodeEnvelope(sample()), opts({ maxBytes: 100 }))).toMatchObject({ ok: false, code: 'OVERSIZE' });
    // 10 MB of garbage does not get parsed at all
    expect(decodeEnvelope('['.repeat(10_000_000), opts())).toMatchObject({ ok: false, code: 'OVERSIZE' });
  });

  it('rejects malformed JSON, shapes and bodies that cannot be canonically encoded', () => {
    const env = sample();
    expect(decodeEnvelope('{"v":1', opts())).toMatchObject({ ok: false, code: 'BAD_JSON' });
    expect(decodeEnvelope(new Uint8Array([0x7b, 0xff, 0x7d]), opts())).toMatchObject({ ok: false, code: 'BAD_JSON' });
    const { body: _body, ...noBody } = env;
    expect(decodeEnvelope(JSON.stringify(noBody), opts())).toMatchObject({ ok: false, code: 'SCHEMA' });
    expect(decodeEnvelope(JSON.stringify({ ...env, extra: 1 }), opts())).toMatchObject({ ok: false, code: 'SCHEMA' });
    expect(decodeEnvelope(JSON.stringify({ ...env, v: 2 }), opts())).toMatchObject({ ok: false, code: 'SCHEMA' });
    expect(decodeEnvelope(JSON.stringify({ ...env, ts: 1.5 }), opts())).toMatchObject({ ok: false, code: 'SCHEMA' });
    expect(decodeEnvelope(JSON.stringify({ ...env, from: env.from.toUpperCase() }), opts())).toMatchObject({ ok: false, code: 'SCHEMA' });
    expect(decodeEnvelope('null', opts())).toMatchObject({ ok: false, code: 'SCHEMA' });
    // Deep nesting: JSON.parse copes, canonical encoding would overflow the stack; must be a rejection.
    const deep = `{"v":1,"type":"X","id":"${env.id}","from":"${env.from}","to":"${env.to}","ts":${NOW},"sig":"${env.sig}","body":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
    const result = decodeEnvelope(deep, opts());
    expect(result.ok).toBe(false);
  });

  it('counts every rejection by code and source', () => {
    const counter = new RejectCounter();
    decodeEnvelope('nope', opts({ counter, source: 'datachannel' }));
    decodeEnvelope(encodeEnvelope(sample({ to: carol.userId })), opts({ counter, source: 'datachannel' }));
    decodeEnvelope(encodeEnvelope(sample()), opts({ counter, source: 'datachannel' }));
    expect(counter.total).toBe(2);
    expect(counter.snapshot()).toEqual({
      BAD_JSON: 1, 'datachannel:BAD_JSON': 1, WRONG_RECIPIENT: 1, 'datachannel:WRONG_RECIPIENT': 1,
    });
    expect(counter.recent().map((e) => e.code)).toEqual(['BAD_JSON', 'WRONG_RECIPIENT']);
  });

  it('takes an unsigned envelope only of a type the caller names, and still checks recipient and time', () => {
    const ack = unsignedEnvelope({ type: 'ACK', to: bob.userId, body: { msgIds: [randomId()] }, ts: NOW }, alice);
    expect(ack.sig).toBe(UNSIGNED);
    const raw = encodeEnvelope(ack);
    // Signaling, the mailbox, a relay: no unsignedTypes, so no unsigned envelope at all.
    expect(decodeEnvelope(raw, opts())).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    expect(decodeEnvelope(raw, opts({ unsignedTypes: ['ACK'] }))).toEqual({ ok: true, value: ack });
    const chat = encodeEnvelope(unsignedEnvelope({ type: 'CHAT_MESSAGE', to: bob.userId, body: { text: 'x' }, ts: NOW }, alice));
    expect(decodeEnvelope(chat, opts({ unsignedTypes: ['ACK'] }))).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    expect(decodeEnvelope(encodeEnvelope({ ...ack, to: carol.userId }), opts({ unsignedTypes: ['ACK'] }))).toMatchObject({ ok: false, code: 'WRONG_RECIPIENT' });
    expect(decodeEnvelope(encodeEnvelope({ ...ack, ts: NOW - 3_600_000 }), opts({ unsignedTypes: ['ACK'] }))).toMatchObject({ ok: false, code: 'STALE' });
    // A signed envelope with its signature blanked is just as unsigned; one with a bad signature still fails.
    expect(decodeEnvelope(encodeEnvelope({ ...sample(), sig: UNSIGNED }), opts())).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    const signedAck = signEnvelope({ type: 'ACK', to: bob.userId, body: { msgIds: [randomId()] }, ts: NOW }, carol, nodeSigner);
    expect(decodeEnvelope(encodeEnvelope({ ...signedAck, from: alice.userId }), opts({ unsignedTypes: ['ACK'] }))).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
  });
});
