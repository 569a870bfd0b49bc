/**
 * Frames of the WebSocket signal server (seed 004, DESIGN section 3; contract in REACH-CONTRACT).
 * URL `ws(s)://HOST:PORT/{deviceId}`. The server challenges, the device answers with an Ed25519
 * signature by its userId's key over the nonce, its deviceId and a timestamp; after READY the
 * device sends `{type, to, ref?, body}` and the server forwards `{type, from, fromUser, body}`.
 * `body` is opaque here: the same sealed, signed envelope the host publishes on MQTT.
 */
import { z } from 'zod';
import { canonicalBytes, toBase64, tryFromBase64, utf8Length } from '../encoding';
import { SIGNATURE_BYTES, type Signer } from '../crypto';
import { DEFAULT_MAX_SKEW_MS, describeIssues } from '../envelope';
import { reject, type Result } from '../errors';
import { publicKeyFromUserId, type Identity } from '../identity';
import { zBase64, zDeviceId, zTimestampMs, zUserIdString } from './common';

export const SIGNAL_NONCE_BYTES = 32;
/** Default limits of the server; each is configurable. */
export const SIGNAL_LIMITS = {
  maxFrameBytes: 64 * 1024,
  framesPerSecond: 50,
  frameBurst: 100,
  maxConnectionsPerAddress: 20,
  authTimeoutMs: 5_000,
} as const;
/** Leaves room for the frame's other fields inside maxFrameBytes. */
export const MAX_SIGNAL_BODY_CHARS = 62 * 1024;
export const MAX_SIGNAL_REF_CHARS = 128;

/** WebSocket close codes the server uses (4000-4999 are for applications). */
export const SIGNAL_CLOSE = {
  BAD_AUTH: 4401,
  DEVICE_TAKEN: 4409,
  OVERSIZE: 4413,
  TOO_MANY: 4429,
  /** The same key attached again on the same deviceId; this older connection is replaced. */
  REPLACED: 4000,
  GOING_AWAY: 1001,
} as const;

export const SIGNAL_RELAY_TYPES = ['OFFER', 'ANSWER', 'ICE_CANDIDATE', 'RELAY_REQUEST', 'NOTIFY'] as const;
export type SignalRelayType = (typeof SIGNAL_RELAY_TYPES)[number];

export const SIGNAL_ERROR_CODES = [
  'BAD_AUTH',
  'AUTH_TIMEOUT',
  'DEVICE_TAKEN',
  'TOO_MANY_CONNECTIONS',
  'NOT_ATTACHED',
  'OVERSIZE',
  'RATE_LIMITED',
  'BAD_FRAME',
] as const;
export type SignalErrorCode = (typeof SIGNAL_ERROR_CODES)[number];

const zNonce = zBase64(Math.ceil(SIGNAL_NONCE_BYTES / 3) * 4).length(Math.ceil(SIGNAL_NONCE_BYTES / 3) * 4);
const zSig = zBase64(Math.ceil(SIGNATURE_BYTES / 3) * 4).min(1);
const zRef = z.string().min(1).max(MAX_SIGNAL_REF_CHARS);
const zRelayType = z.enum(SIGNAL_RELAY_TYPES);

// server → client
export const zChallengeFrame = z.strictObject({ type: z.literal('CHALLENGE'), nonce: zNonce });
export const zReadyFrame = z.strictObject({ type: z.literal('READY'), userId: zUserIdString, deviceId: zDeviceId });
export const zErrorFrame = z.strictObject({
  type: z.literal('ERROR'),
  code: z.enum(SIGNAL_ERROR_CODES),
  reason: z.string().max(1024).optional(),
  /** NOT_ATTACHED: the target that is not here, and the sender's ref so it can match its request. */
  to: zDeviceId.optional(),
  ref: zRef.optional(),
});
export const zDeliveredFrame = z.strictObject({
  type: zRelayType,
  from: zDeviceId,
  fromUser: zUserIdString,
  body: z.string().max(MAX_SIGNAL_BODY_CHARS),
});
export const zServerFrame = z.union([zChallengeFrame, zReadyFrame, zErrorFrame, zDeliveredFrame]);

// client → server
export const zAuthFrame = z.strictObject({
  type: z.literal('AUTH'),
  userId: zUserIdString,
  deviceId: zDeviceId,
  ts: zTimestampMs,
  sig: zSig,
});
export const zRelayFrame = z.strictObject({
  type: zRelayType,
  to: zDeviceId,
  ref: zRef.optional(),
  body: z.string().max(MAX_SIGNAL_BODY_CHARS),
});
export const zClientFrame = z.union([zAuthFrame, zRelayFrame]);

export type ChallengeFrame = z.infer<typeof zChallengeFrame>;
export type ReadyFrame = z.infer<typeof zReadyFrame>;
export type ErrorFrame = z.infer<typeof zErrorFrame>;
export type DeliveredFrame = z.infer<typeof zDeliveredFrame>;
export type ServerFrame = z.infer<typeof zServerFrame>;
export type AuthFrame = z.infer<typeof zAuthFrame>;
export type RelayFrame = z.infer<typeof zRelayFrame>;
export type ClientFrame = z.infer<typeof zClientFrame>;

function parseJsonFrame<T>(schema: z.ZodType<T>, what: string, raw: string | Uint8Array, maxBytes: number): Result<T> {
  const size = typeof raw === 'string' ? utf8Length(raw) : raw.byteLength;
  if (size > maxBytes) return reject('OVERSIZE', `${what}: ${size} bytes > ${maxBytes}`);
  let value: unknown;
  try {
    value = JSON.parse(typeof raw === 'string' ? raw : new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch {
    return reject('BAD_JSON', `${what}: not JSON text`);
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? { ok: true, value: parsed.data } : reject('SCHEMA', `${what}: ${describeIssues(parsed.error)}`);
}

/** A frame from a device (AUTH or a relay frame). Never throws. */
export function parseClientFrame(raw: string | Uint8Array, maxBytes: number = SIGNAL_LIMITS.maxFrameBytes): Result<ClientFrame> {
  return parseJsonFrame(zClientFrame, 'signal frame', raw, maxBytes);
}

/** A frame from the server (CHALLENGE, READY, ERROR or a delivered frame). Never throws. */
export function parseServerFrame(raw: string | Uint8Array, maxBytes: number = SIGNAL_LIMITS.maxFrameBytes): Result<ServerFrame> {
  return parseJsonFrame(zServerFrame, 'signal server frame', raw, maxBytes);
}

function authBytes(fields: { nonce: string; userId: string; deviceId: string; ts: number }): Uint8Array {
  return canonicalBytes({ kind: 'signal-auth', ...fields });
}

/** The AUTH answer to a CHALLENGE: proves the device holds userId's key, for this nonce and deviceId only. */
export function signSignalAuth(
  fields: { nonce: string; deviceId: string; ts?: number },
  identity: Identity,
  signer: Signer,
): AuthFrame {
  const ts = fields.ts ?? Date.now();
  const sig = signer.sign(authBytes({ nonce: fields.nonce, userId: identity.userId, deviceId: fields.deviceId, ts }), identity.secretKey);
  return { type: 'AUTH', userId: identity.userId, deviceId: fields.deviceId, ts, sig: toBase64(sig) };
}

export interface SignalAuthVerifyOptions {
  signer: Signer;
  /** The nonce this server sent on this connection. */
  nonce: string;
  /** The deviceId from the connection's URL path. */
  deviceId: string;
  now?: number;
  maxSkewMs?: number;
}

/** Schema + deviceId + freshness + signature check of an AUTH frame. Never throws. */
export function verifySignalAuth(frame: unknown, opts: SignalAuthVerifyOptions): Result<AuthFrame> {
  const parsed = zAuthFrame.safeParse(frame);
  if (!parsed.success) return reject('SCHEMA', `auth: ${describeIssues(parsed.error)}`);
  const auth = parsed.data;
  if (auth.deviceId !== opts.deviceId) return reject('UNAUTHORIZED', `auth: deviceId ${auth.deviceId} is not the URL's ${opts.deviceId}`);
  const now = opts.now ?? Date.now();
  const maxSkew = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  if (auth.ts < now - maxSkew) return reject('STALE', `auth: timestamp is ${now - auth.ts} ms old`);
  if (auth.ts > now + maxSkew) return reject('FUTURE', `auth: timestamp is ${auth.ts - now} ms ahead`);
  const sigBytes = tryFromBase64(auth.sig);
  const publicKey = publicKeyFromUserId(auth.userId);
  if (!sigBytes || sigBytes.length !== SIGNATURE_BYTES || !publicKey) return reject('BAD_SIGNATURE', 'auth: malformed signature');
  const bytes = authBytes({ nonce: opts.nonce, userId: auth.userId, deviceId: auth.deviceId, ts: auth.ts });
  if (!opts.signer.verify(bytes, sigBytes, publicKey)) return reject('BAD_SIGNATURE', 'auth: signature does not verify for this challenge');
  return { ok: true, value: auth };
}

/** `ws://host:port` + `/` + deviceId: a device's signalAddr on this server. */
export function signalAddrFor(serverUrl: string, deviceId: string): string {
  return `${serverUrl.replace(/\/+$/, '')}/${deviceId}`;
}

/** Splits a signalAddr into the server URL and the deviceId (null when it is not a ws(s) URL with a deviceId path). */
export function parseSignalAddr(addr: string): { serverUrl: string; deviceId: string } | null {
  const match = /^(wss?:\/\/[^/\s?#]+(?:\/[^\s?#]*)?)\/([A-Za-z0-9_-]{1,64})$/.exec(addr);
  return match ? { serverUrl: match[1]!, deviceId: match[2]! } : null;
}
