/**
 * Registry REST bodies (DESIGN section 8, seed 004). Announcements and coordinator heartbeats are
 * signed by the identity they speak for, so nobody can announce for or overwrite another userId;
 * the signature covers the networkId and a timestamp, so it can't be replayed elsewhere or much later.
 */
import { z } from 'zod';
import { canonicalBytes, toBase64, tryFromBase64 } from '../encoding';
import { SIGNATURE_BYTES, type Signer } from '../crypto';
import { describeIssues, DEFAULT_MAX_SKEW_MS } from '../envelope';
import { reject, type Result } from '../errors';
import { publicKeyFromUserId, type Identity } from '../identity';
import { zBase64, zDeviceId, zSignalAddr, zTimestampMs, zUserIdString } from './common';

export const MAX_REGISTRY_BODY_BYTES = 8 * 1024;
export const NETWORK_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
export const zNetworkId = z.string().regex(NETWORK_ID_RE, 'networkId must be 1-64 of A-Z a-z 0-9 _ -');
const zSig = zBase64(Math.ceil(SIGNATURE_BYTES / 3) * 4).min(1);

/** How long an announce keeps a peer "online" unless it is renewed; the registry clamps to these bounds. */
export const DEFAULT_ANNOUNCE_TTL_MS = 120_000;
export const MIN_ANNOUNCE_TTL_MS = 5_000;
export const MAX_ANNOUNCE_TTL_MS = 60 * 60_000;
export const MAX_SIGNAL_ADDRS = 8;

export const zAnnounce = z.strictObject({
  networkId: zNetworkId,
  userId: zUserIdString,
  deviceId: zDeviceId,
  /** The primary signal address (the first of signalAddrs when both are given). */
  signalAddr: zSignalAddr.nullable(),
  /** Every signal server this device is attached to, for a device on several at once. */
  signalAddrs: z.array(zSignalAddr).max(MAX_SIGNAL_ADDRS).optional(),
  canRelay: z.boolean(),
  /** Willing to hold stored messages and help discovery (seed 004 coordinator pattern). */
  coordinator: z.boolean(),
  /** Coordinators this device is connected to now (GET peer returns them as lastCoordinators). */
  coordinators: z.array(zUserIdString).max(16).optional(),
  /** Online for this long after ts unless renewed (default DEFAULT_ANNOUNCE_TTL_MS). */
  ttlMs: z.number().int().min(MIN_ANNOUNCE_TTL_MS).max(MAX_ANNOUNCE_TTL_MS).optional(),
  ts: zTimestampMs,
  sig: zSig,
});

export const zCoordinatorHeartbeat = z.strictObject({
  networkId: zNetworkId,
  userId: zUserIdString,
  deviceId: zDeviceId,
  signalAddr: zSignalAddr.nullable(),
  /** Peers currently connected to this coordinator. */
  peers: z.number().int().min(0).max(1_000_000),
  /** Messages it currently holds for offline peers. */
  stored: z.number().int().min(0).max(100_000_000),
  ts: zTimestampMs,
  sig: zSig,
});

const zIsoTime = z.iso.datetime({ offset: true });

/** GET /network/{networkId}/peer/{userId} */
export const zPeerResponse = z.strictObject({
  online: z.boolean(),
  lastSeen: zIsoTime.nullable(),
  lastCoordinators: z.array(zUserIdString).max(16),
  signalAddr: zSignalAddr.optional(),
  /** Every signal address of the last announce, when it named more than one. */
  signalAddrs: z.array(zSignalAddr).max(MAX_SIGNAL_ADDRS).optional(),
});

export const zActivePeer = z.strictObject({
  userId: zUserIdString,
  deviceId: zDeviceId,
  signalAddr: zSignalAddr.nullable(),
  canRelay: z.boolean(),
  coordinator: z.boolean(),
  lastSeen: zIsoTime,
});

/** GET /network/{networkId}/active-peers */
export const zActivePeersResponse = z.strictObject({ peers: z.array(zActivePeer).max(10_000) });

/** Reply to an announce or a heartbeat: stored, and considered offline after expiresAt unless renewed. */
export const zRegistryAck = z.strictObject({ ok: z.literal(true), expiresAt: zIsoTime });

/** Error body of every non-2xx registry response. */
export const zRegistryError = z.strictObject({ error: z.string().max(64), reason: z.string().max(1024) });

// Bearer tokens (DESIGN section 8): POST /auth/challenge {userId} -> {nonce, expiresAt};
// POST /auth/token {userId, nonce, sig} -> {token, expiresAt}, sig over canonicalBytes({kind:"registry-auth", nonce, userId}).
export const REGISTRY_NONCE_BYTES = 32;
const zRegistryNonce = zBase64(Math.ceil(REGISTRY_NONCE_BYTES / 3) * 4).length(Math.ceil(REGISTRY_NONCE_BYTES / 3) * 4);
/** 32 random bytes, base64url without padding. */
export const REGISTRY_TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

export const zAuthChallengeRequest = z.strictObject({ userId: zUserIdString });
export const zAuthChallengeResponse = z.strictObject({ nonce: zRegistryNonce, expiresAt: zIsoTime });
export const zAuthTokenRequest = z.strictObject({ userId: zUserIdString, nonce: zRegistryNonce, sig: zSig });
export const zAuthTokenResponse = z.strictObject({ token: z.string().regex(REGISTRY_TOKEN_RE), expiresAt: zIsoTime });

export type Announce = z.infer<typeof zAnnounce>;
export type CoordinatorHeartbeat = z.infer<typeof zCoordinatorHeartbeat>;
export type PeerResponse = z.infer<typeof zPeerResponse>;
export type ActivePeer = z.infer<typeof zActivePeer>;
export type ActivePeersResponse = z.infer<typeof zActivePeersResponse>;
export type RegistryError = z.infer<typeof zRegistryError>;
export type RegistryAck = z.infer<typeof zRegistryAck>;
export type AuthChallengeRequest = z.infer<typeof zAuthChallengeRequest>;
export type AuthChallengeResponse = z.infer<typeof zAuthChallengeResponse>;
export type AuthTokenRequest = z.infer<typeof zAuthTokenRequest>;
export type AuthTokenResponse = z.infer<typeof zAuthTokenResponse>;

function parseWith<T>(schema: z.ZodType<T>, what: string, body: unknown): Result<T> {
  const parsed = schema.safeParse(body);
  return parsed.success ? { ok: true, value: parsed.data } : reject('SCHEMA', `${what}: ${describeIssues(parsed.error)}`);
}

export const parseAnnounce = (body: unknown): Result<Announce> => parseWith(zAnnounce, 'announce', body);
export const parseCoordinatorHeartbeat = (body: unknown): Result<CoordinatorHeartbeat> =>
  parseWith(zCoordinatorHeartbeat, 'heartbeat', body);
export const parsePeerResponse = (body: unknown): Result<PeerResponse> => parseWith(zPeerResponse, 'peer response', body);
export const parseActivePeersResponse = (body: unknown): Result<ActivePeersResponse> =>
  parseWith(zActivePeersResponse, 'active-peers response', body);
export const parseRegistryAck = (body: unknown): Result<RegistryAck> => parseWith(zRegistryAck, 'registry ack', body);
export const parseRegistryError = (body: unknown): Result<RegistryError> => parseWith(zRegistryError, 'registry error', body);
export const parseAuthChallengeRequest = (body: unknown): Result<AuthChallengeRequest> =>
  parseWith(zAuthChallengeRequest, 'auth challenge', body);
export const parseAuthChallengeResponse = (body: unknown): Result<AuthChallengeResponse> =>
  parseWith(zAuthChallengeResponse, 'auth challenge response', body);
export const parseAuthTokenRequest = (body: unknown): Result<AuthTokenRequest> => parseWith(zAuthTokenRequest, 'auth token', body);
export const parseAuthTokenResponse = (body: unknown): Result<AuthTokenResponse> =>
  parseWith(zAuthTokenResponse, 'auth token response', body);

function registryAuthBytes(nonce: string, userId: string): Uint8Array {
  return canonicalBytes({ kind: 'registry-auth', nonce, userId });
}

/** The body of POST /auth/token answering a challenge nonce. */
export function signRegistryAuth(nonce: string, identity: Identity, signer: Signer): AuthTokenRequest {
  return { userId: identity.userId, nonce, sig: toBase64(signer.sign(registryAuthBytes(nonce, identity.userId), identity.secretKey)) };
}

/** Schema + signature check of a POST /auth/token body (whether the nonce was issued is the server's check). Never throws. */
export function verifyRegistryAuth(body: unknown, signer: Signer): Result<AuthTokenRequest> {
  const parsed = parseAuthTokenRequest(body);
  if (!parsed.ok) return parsed;
  const { userId, nonce, sig } = parsed.value;
  const sigBytes = tryFromBase64(sig);
  const publicKey = publicKeyFromUserId(userId);
  if (!sigBytes || sigBytes.length !== SIGNATURE_BYTES || !publicKey) return reject('BAD_SIGNATURE', 'auth token: malformed signature');
  if (!signer.verify(registryAuthBytes(nonce, userId), sigBytes, publicKey)) {
    return reject('BAD_SIGNATURE', 'auth token: signature does not verify for this userId and nonce');
  }
  return parsed;
}

type Signed = { userId: string; ts: number; sig: string };

function signStatement<T extends Omit<Signed, 'sig'>>(kind: string, fields: T, identity: Identity, signer: Signer): T & { sig: string } {
  const sig = signer.sign(canonicalBytes({ kind, ...fields }), identity.secretKey);
  return { ...fields, sig: toBase64(sig) };
}

export function signAnnounce(fields: Omit<Announce, 'userId' | 'ts' | 'sig'> & { ts?: number }, identity: Identity, signer: Signer): Announce {
  return signStatement('announce', { ...fields, userId: identity.userId, ts: fields.ts ?? Date.now() }, identity, signer);
}

export function signCoordinatorHeartbeat(
  fields: Omit<CoordinatorHeartbeat, 'userId' | 'ts' | 'sig'> & { ts?: number },
  identity: Identity,
  signer: Signer,
): CoordinatorHeartbeat {
  return signStatement('heartbeat', { ...fields, userId: identity.userId, ts: fields.ts ?? Date.now() }, identity, signer);
}

export interface StatementVerifyOptions {
  signer: Signer;
  now?: number;
  maxSkewMs?: number;
  /** The networkId from the URL; the signed body must name the same one. */
  networkId?: string;
}

function verifyStatement<T extends Signed & { networkId: string }>(
  kind: string,
  parsed: Result<T>,
  opts: StatementVerifyOptions,
): Result<T> {
  if (!parsed.ok) return parsed;
  const { sig, ...fields } = parsed.value;
  const sigBytes = tryFromBase64(sig);
  const publicKey = publicKeyFromUserId(fields.userId);
  if (!sigBytes || sigBytes.length !== SIGNATURE_BYTES || !publicKey) return reject('BAD_SIGNATURE', `${kind}: malformed signature`);
  if (!opts.signer.verify(canonicalBytes({ kind, ...fields }), sigBytes, publicKey)) {
    return reject('BAD_SIGNATURE', `${kind}: signature does not verify for ${fields.userId.slice(0, 12)}…`);
  }
  if (opts.networkId !== undefined && fields.networkId !== opts.networkId) {
    return reject('UNAUTHORIZED', `${kind}: signed for network ${fields.networkId}, posted to ${opts.networkId}`);
  }
  const now = opts.now ?? Date.now();
  const maxSkew = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  if (fields.ts < now - maxSkew) return reject('STALE', `${kind}: timestamp is ${now - fields.ts} ms old`);
  if (fields.ts > now + maxSkew) return reject('FUTURE', `${kind}: timestamp is ${fields.ts - now} ms ahead`);
  return parsed;
}

/** Schema + signature + network + freshness check of a POST /network/{id}/announce body. Never throws. */
export function verifyAnnounce(body: unknown, opts: StatementVerifyOptions): Result<Announce> {
  return verifyStatement('announce', parseAnnounce(body), opts);
}

/** Schema + signature + freshness check of a POST /coordinator/heartbeat body. Never throws. */
export function verifyCoordinatorHeartbeat(body: unknown, opts: StatementVerifyOptions): Result<CoordinatorHeartbeat> {
  return verifyStatement('heartbeat', parseCoordinatorHeartbeat(body), opts);
}
