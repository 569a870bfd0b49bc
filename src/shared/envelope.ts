import { z } from 'zod';
import { canonicalBytes, fromUtf8, toBase64, tryFromBase64, utf8Length } from './encoding';
import { SIGNATURE_BYTES, type Signer } from './crypto';
import { reject, type RejectCounter, type Result } from './errors';
import { isId, randomId } from './ids';
import { publicKeyFromUserId, USER_ID_RE, type Identity } from './identity';
import type { ReplayGuard } from './replay';

export const ENVELOPE_VERSION = 1;
/** Data-channel frame limit; signaling callers may pass a smaller maxBytes. */
export const MAX_ENVELOPE_BYTES = 64 * 1024;
export const DEFAULT_MAX_SKEW_MS = 5 * 60 * 1000;
export const ENVELOPE_TYPE_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export interface Envelope<B = unknown> {
  v: 1;
  type: string;
  id: string;
  from: string;
  to: string;
  ts: number;
  body: B;
  sig: string;
}

export interface EnvelopeDraft<B = unknown> {
  type: string;
  to: string;
  body: B;
  id?: string;
  ts?: number;
}

export interface VerifyOptions {
  /** The receiving userId; envelopes addressed to anyone else are rejected. */
  self: string;
  now?: number;
  maxSkewMs?: number;
  replay?: ReplayGuard;
  signer: Signer;
  maxBytes?: number;
  /** Counts every rejection under `source` (e.g. 'mqtt', 'datachannel'). */
  counter?: RejectCounter;
  source?: string;
  /**
   * Types accepted without a signature (`sig` = UNSIGNED), because the caller got them on a direct
   * data channel, which is bound to the peer's key (its DTLS fingerprint came in a signed offer or
   * answer; DESIGN section 2). Nothing then proves `from`: the caller must check that it is the
   * channel's peer. Anywhere else (signaling, mailbox, relay) leave it unset: an unsigned envelope
   * is refused as BAD_SIGNATURE.
   */
  unsignedTypes?: readonly string[];
}

/** The `sig` of an envelope that carries no signature of its own (see VerifyOptions.unsignedTypes). */
export const UNSIGNED = '';

const SIG_BASE64_CHARS = Math.ceil(SIGNATURE_BYTES / 3) * 4;

const zEnvelopeShape = {
  v: z.literal(ENVELOPE_VERSION),
  type: z.string().regex(ENVELOPE_TYPE_RE, 'type must be 1-64 letters, digits or underscores'),
  id: z.string().refine(isId, 'id must be 32 lowercase hex characters'),
  from: z.string().regex(USER_ID_RE, 'from must be a userId'),
  to: z.string().regex(USER_ID_RE, 'to must be a userId'),
  ts: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  body: z.unknown().refine((body) => body !== undefined, 'body is required'),
  sig: z.string().length(SIG_BASE64_CHARS, 'sig must be a base64 Ed25519 signature'),
};
export const zEnvelope = z.strictObject(zEnvelopeShape);
const zUnsignedEnvelope = z.strictObject({ ...zEnvelopeShape, sig: z.literal(UNSIGNED) });

/** The bytes the signature covers: every field except sig, canonically encoded. */
export function signedBytes(env: Omit<Envelope, 'sig'>): Uint8Array {
  return canonicalBytes({ v: env.v, type: env.type, id: env.id, from: env.from, to: env.to, ts: env.ts, body: env.body });
}

/** The envelope's fields before its signature, with defaults for id and ts. */
function draftFields<B>(draft: EnvelopeDraft<B>, from: string): Omit<Envelope<B>, 'sig'> {
  return { v: ENVELOPE_VERSION as 1, type: draft.type, id: draft.id ?? randomId(), from, to: draft.to, ts: draft.ts ?? Date.now(), body: draft.body };
}

export function signEnvelope<B>(draft: EnvelopeDraft<B>, identity: Identity, signer: Signer): Envelope<B> {
  const unsigned = draftFields(draft, identity.userId);
  const sig = toBase64(signer.sign(signedBytes(unsigned), identity.secretKey));
  return { ...unsigned, sig };
}

/**
 * An envelope without a signature, for a direct data channel only (an ACK: the channel vouches for
 * its sender). Never store, relay or forward one; a receiver refuses it anywhere else.
 */
export function unsignedEnvelope<B>(draft: EnvelopeDraft<B>, identity: Pick<Identity, 'userId'>): Envelope<B> {
  return { ...draftFields(draft, identity.userId), sig: UNSIGNED };
}

export function encodeEnvelope(env: Envelope): string {
  return JSON.stringify(env);
}

/**
 * Validates an incoming envelope. Order matters: size before parsing (cheap DoS guard); signature
 * before recipient/skew/replay so forged envelopes can never poison the replay cache; the id is
 * recorded only once every other check has passed. An unsigned envelope (opts.unsignedTypes)
 * skips the signature check only; its caller binds `from` to the channel before trusting it.
 * Never throws.
 */
export function decodeEnvelope(raw: string | Uint8Array, opts: VerifyOptions): Result<Envelope> {
  const result = verify(raw, opts);
  if (!result.ok) opts.counter?.count(result.code, result.reason, opts.source);
  return result;
}

function verify(raw: string | Uint8Array, opts: VerifyOptions): Result<Envelope> {
  const maxBytes = opts.maxBytes ?? MAX_ENVELOPE_BYTES;
  let text: string;
  if (typeof raw === 'string') {
    if (raw.length > maxBytes || (raw.length * 3 > maxBytes && utf8Length(raw) > maxBytes)) {
      return reject('OVERSIZE', `envelope exceeds ${maxBytes} bytes`);
    }
    text = raw;
  } else if (raw instanceof Uint8Array) {
    if (raw.length > maxBytes) return reject('OVERSIZE', `envelope is ${raw.length} bytes, limit ${maxBytes}`);
    try {
      text = fromUtf8(raw);
    } catch {
      return reject('BAD_JSON', 'envelope is not valid UTF-8');
    }
  } else {
    return reject('BAD_JSON', 'envelope must be a string or bytes');
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return reject('BAD_JSON', `envelope is not JSON: ${err instanceof Error ? err.message : 'parse error'}`);
  }

  const unsigned = typeof parsed === 'object' && parsed !== null && (parsed as { sig?: unknown }).sig === UNSIGNED;
  const shape = (unsigned ? zUnsignedEnvelope : zEnvelope).safeParse(parsed);
  if (!shape.success) return reject('SCHEMA', `envelope: ${describeIssues(shape.error)}`);
  const env = shape.data as Envelope;

  if (unsigned) {
    // Only where the caller vouches for the channel, and only for the types it names.
    if (!opts.unsignedTypes?.includes(env.type)) {
      return reject('BAD_SIGNATURE', `unsigned ${env.type} envelope where a signature is required (only ACKs on a direct data channel may go without)`);
    }
  } else {
    const sig = tryFromBase64(env.sig);
    const publicKey = publicKeyFromUserId(env.from);
    if (!sig || sig.length !== SIGNATURE_BYTES || !publicKey) {
      return reject('BAD_SIGNATURE', 'sig is not a canonical base64 Ed25519 signature');
    }
    let message: Uint8Array;
    try {
      message = signedBytes(env);
    } catch {
      return reject('SCHEMA', 'envelope body is not canonically encodable');
    }
    if (!opts.signer.verify(message, sig, publicKey)) {
      return reject('BAD_SIGNATURE', `signature does not verify for ${env.from.slice(0, 12)}…`);
    }
  }

  if (env.to !== opts.self) return reject('WRONG_RECIPIENT', `envelope is addressed to ${env.to.slice(0, 12)}…`);

  const now = opts.now ?? Date.now();
  const maxSkew = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  if (env.ts < now - maxSkew) return reject('STALE', `timestamp is ${now - env.ts} ms old (max ${maxSkew})`);
  if (env.ts > now + maxSkew) return reject('FUTURE', `timestamp is ${env.ts - now} ms ahead (max ${maxSkew})`);

  if (opts.replay && opts.replay.seen(env.id, env.ts)) return reject('REPLAY', `envelope ${env.id} already seen`);

  return { ok: true, value: env };
}

/** One-line, human-readable summary of zod issues ("body.sdp: Too big…; to: …"). */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length ? issue.path.map(String).join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
