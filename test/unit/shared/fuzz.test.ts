/**
 * Property tests: every decoder at a trust boundary answers random and mutated input with either a
 * valid value or a typed rejection (known code + reason), and never throws.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { canonicalJson, utf8 } from '../../../src/shared/encoding';
import { decodeEnvelope, encodeEnvelope, signEnvelope, type VerifyOptions } from '../../../src/shared/envelope';
import { REJECT_CODES, type Result } from '../../../src/shared/errors';
import { generateIdentity } from '../../../src/shared/identity';
import { ReplayGuard } from '../../../src/shared/replay';
import { parseDataChannelBody } from '../../../src/shared/schemas/datachannel';
import {
  parseActivePeersResponse, parseAnnounce, parseCoordinatorHeartbeat, parsePeerResponse, parseRegistryError, verifyAnnounce,
  verifyCoordinatorHeartbeat,
} from '../../../src/shared/schemas/registry';
import { parseSealedBody, parseSignalingBody } from '../../../src/shared/schemas/signaling';
import { validDataChannel, validSignaling } from './samples';

const RUNS = { numRuns: 400 };
const alice = generateIdentity();
const bob = generateIdentity();
const NOW = 1_750_000_000_000;

function expectTyped<T>(result: Result<T>): void {
  if (result.ok) {
    expect(result).toHaveProperty('value');
  } else {
    expect(REJECT_CODES).toContain(result.code);
    expect(typeof result.reason).toBe('string');
    expect(result.reason.length).toBeGreaterThan(0);
  }
}

/** Structural mutations of a JSON object: drop, replace or add a key, or replace the whole thing. */
function mutatedObject(base: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(base);
  const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.string({ maxLength: 70_000 }).filter((s) => s.length % 997 === 0));
  return fc.oneof(
    keys.length ? fc.constantFrom(...keys).map((k) => { const { [k]: _gone, ...rest } = base; return rest; }) : fc.constant(base),
    keys.length ? fc.tuple(fc.constantFrom(...keys), anyJson).map(([k, v]) => ({ ...base, [k]: v })) : fc.constant(base),
    fc.tuple(fc.string({ maxLength: 12 }), anyJson).map(([k, v]) => ({ ...base, [k]: v })),
    anyJson,
    fc.constant(Object.assign(Object.create(null) as object, base)),
  );
}

describe('decodeEnvelope under random input', () => {
  const opts = (): VerifyOptions => ({
    self: bob.userId, now: NOW, signer: nodeSigner, replay: new ReplayGuard({ windowMs: 600_000, maxEntries: 100, now: () => NOW }),
  });

  it('random strings and bytes', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (s) => expectTyped(decodeEnvelope(s, opts()))), RUNS);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => expectTyped(decodeEnvelope(b, opts()))), RUNS);
    fc.assert(fc.property(fc.jsonValue(), (v) => expectTyped(decodeEnvelope(JSON.stringify(v) ?? 'null', opts()))), RUNS);
    for (const weird of [undefined, null, 42, {}, [], new Uint16Array(3)] as unknown as string[]) expectTyped(decodeEnvelope(weird, opts()));
  });

  it('signed envelopes with random bodies round-trip', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.string({ minLength: 1, maxLength: 20 }).filter((t) => /^[A-Za-z][A-Za-z0-9_]*$/.test(t)), (body, type) => {
        const env = signEnvelope({ type, to: bob.userId, body, ts: NOW }, alice, nodeSigner);
        const result = decodeEnvelope(encodeEnvelope(env), opts());
        expect(result.ok).toBe(true);
        if (result.ok) expect(canonicalJson(result.value)).toBe(canonicalJson(env));
      }),
      { numRuns: 200 },
    );
  });

  it('mutated valid envelopes: structural changes are rejected, never accepted with altered content', () => {
    const env = signEnvelope({ type: 'CHAT_MESSAGE', to: bob.userId, body: validDataChannel.CHAT_MESSAGE, ts: NOW }, alice, nodeSigner);
    const original = canonicalJson(env);
    fc.assert(
      fc.property(mutatedObject(env as unknown as Record<string, unknown>), (mutant) => {
        let raw: string;
        try {
          raw = JSON.stringify(mutant) ?? 'null';
        } catch {
          return;
        }
        const result = decodeEnvelope(raw, opts());
        expectTyped(result);
        if (result.ok) expect(canonicalJson(result.value)).toBe(original);
      }),
      RUNS,
    );
  });

  it('random byte-level edits of a valid envelope', () => {
    const env = signEnvelope({ type: 'ACK', to: bob.userId, body: validDataChannel.ACK, ts: NOW }, alice, nodeSigner);
    const bytes = utf8(encodeEnvelope(env));
    const original = canonicalJson(env);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const mutated = bytes.slice();
        for (const [pos, value] of edits) mutated[pos] = value;
        const result = decodeEnvelope(mutated, opts());
        expectTyped(result);
        if (result.ok) expect(canonicalJson(result.value)).toBe(original);
      }),
      RUNS,
    );
  });
});

describe('body parsers under random input', () => {
  const decoders: Array<[string, (type: unknown, body: unknown) => Result<unknown>, Record<string, Record<string, unknown>>]> = [
    ['signaling', parseSignalingBody, validSignaling as unknown as Record<string, Record<string, unknown>>],
    ['datachannel', parseDataChannelBody, validDataChannel as unknown as Record<string, Record<string, unknown>>],
  ];

  for (const [name, parse, valid] of decoders) {
    it(`${name}: random types and bodies`, () => {
      const types = Object.keys(valid);
      fc.assert(
        fc.property(fc.oneof(fc.constantFrom(...types), fc.string(), fc.jsonValue()), fc.jsonValue(), (type, body) => expectTyped(parse(type, body))),
        RUNS,
      );
    });

    it(`${name}: mutated valid bodies`, () => {
      for (const [type, body] of Object.entries(valid)) {
        fc.assert(fc.property(mutatedObject(body), (mutant) => expectTyped(parse(type, mutant))), { numRuns: 60 });
      }
    });
  }

  it('sealed-body and registry parsers', () => {
    const parsers: Array<(body: unknown) => Result<unknown>> = [parseSealedBody, parseAnnounce, parseCoordinatorHeartbeat, parsePeerResponse, parseActivePeersResponse, parseRegistryError];
    fc.assert(fc.property(fc.jsonValue(), (body) => { for (const parse of parsers) expectTyped(parse(body)); }), RUNS);
    const announce = {
      networkId: 'n', userId: alice.userId, deviceId: 'd', signalAddr: null, canRelay: true, coordinator: false, ts: NOW, sig: 'A'.repeat(86) + '==',
    };
    fc.assert(
      fc.property(mutatedObject(announce), (mutant) => {
        expectTyped(verifyAnnounce(mutant, { signer: nodeSigner, now: NOW }));
        expectTyped(verifyCoordinatorHeartbeat(mutant, { signer: nodeSigner, now: NOW }));
        expect(verifyAnnounce(mutant, { signer: nodeSigner, now: NOW }).ok).toBe(false);
      }),
      RUNS,
    );
  });
});
