/**
 * The signaling envelope every transport carries (MQTT payload, WebSocket frame `body`): a signed
 * envelope whose body is the real signaling body sealed to the recipient. One implementation, so
 * a message is verified the same way whichever server carried it.
 */
import { openFrom, sealTo } from '../../shared/box';
import type { Signer } from '../../shared/crypto';
import { canonicalJson, fromUtf8, utf8 } from '../../shared/encoding';
import { decodeEnvelope, encodeEnvelope, signEnvelope, type Envelope } from '../../shared/envelope';
import { reject, type Result } from '../../shared/errors';
import type { Identity } from '../../shared/identity';
import type { ReplayGuard } from '../../shared/replay';
import { parseSealedBody, parseSignalingBody, type SignalingMessage, type SignalingType } from '../../shared/schemas/signaling';

export const MAX_SIGNALING_BYTES = 64 * 1024;

export function sealSignal(to: string, type: SignalingType, body: unknown, identity: Identity, signer: Signer, ts: number): string {
  const sealed = sealTo(to, utf8(canonicalJson(body)), identity);
  return encodeEnvelope(signEnvelope({ type, to, body: { sealed }, ts }, identity, signer));
}

export interface OpenSignalOptions {
  identity: Identity;
  signer: Signer;
  now: number;
  /** Maximum age (and future skew) accepted for this type. */
  maxAgeMs: number;
  maxSkewMs: number;
  replay: ReplayGuard;
  /** The type the transport says this is (topic, frame type); the signed type must match. */
  expectedType: SignalingType;
}

export type OpenedSignal = SignalingMessage & { env: Envelope };

/** Size, signature, recipient, freshness, replay, type, seal and body schema. Never throws. */
export function openSignal(payload: string | Uint8Array, opts: OpenSignalOptions): Result<OpenedSignal> {
  const size = typeof payload === 'string' ? payload.length : payload.byteLength;
  if (size > MAX_SIGNALING_BYTES) return reject('OVERSIZE', `payload is ${size} bytes, limit ${MAX_SIGNALING_BYTES}`);
  const decoded = decodeEnvelope(payload, {
    self: opts.identity.userId, now: opts.now, maxSkewMs: opts.maxAgeMs, replay: opts.replay, signer: opts.signer, maxBytes: MAX_SIGNALING_BYTES,
  });
  if (!decoded.ok) return decoded;
  const env = decoded.value;
  if (env.type !== opts.expectedType) return reject('SCHEMA', `envelope type ${env.type} does not match transport type ${opts.expectedType}`);
  if (env.ts > opts.now + opts.maxSkewMs) return reject('FUTURE', `timestamp is ${env.ts - opts.now} ms ahead (max ${opts.maxSkewMs})`);
  const sealed = parseSealedBody(env.body);
  if (!sealed.ok) return sealed;
  const plaintext = openFrom(env.from, sealed.value.sealed, opts.identity);
  if (!plaintext) return reject('DECRYPT_FAILED', `sealed ${opts.expectedType} body does not open for this recipient`);
  let body: unknown;
  try {
    body = JSON.parse(fromUtf8(plaintext));
  } catch {
    return reject('BAD_JSON', `decrypted ${opts.expectedType} body is not JSON`);
  }
  const parsed = parseSignalingBody(opts.expectedType, body);
  if (!parsed.ok) return parsed;
  return { ok: true, value: { ...parsed.value, env } as OpenedSignal };
}
