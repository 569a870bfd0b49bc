/**
 * The registry's HTTP API (seed 004 endpoints, DESIGN section 8) as a fastify app. Bodies are
 * checked with the zod schemas of src/shared/schemas/registry.ts; every refusal is JSON
 * `{error, reason}` with 400/401/403/404/413/429 and is counted by (status, error).
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { Signer } from '../../shared/crypto';
import { toBase64 } from '../../shared/encoding';
import { DEFAULT_MAX_SKEW_MS } from '../../shared/envelope';
import { isUserId } from '../../shared/identity';
import type { RejectCode } from '../../shared/errors';
import {
  DEFAULT_ANNOUNCE_TTL_MS, MAX_REGISTRY_BODY_BYTES, NETWORK_ID_RE, REGISTRY_NONCE_BYTES, REGISTRY_TOKEN_RE,
  parseAuthChallengeRequest, verifyAnnounce, verifyCoordinatorHeartbeat, verifyRegistryAuth,
  type AuthChallengeResponse, type AuthTokenResponse, type RegistryAck, type RegistryError,
} from '../../shared/schemas/registry';
import type { IceResponse } from '../../shared/schemas/ice';
import type { RegistryStore } from './store';

export interface RegistryLimits {
  /** Requests per IP per window, all routes together. */
  requestsPerWindow: number;
  /** /auth/* requests per IP per window (each writes a row). */
  authRequestsPerWindow: number;
  windowMs: number;
  challengeTtlMs: number;
  tokenTtlMs: number;
  heartbeatTtlMs: number;
  maxSkewMs: number;
}

export const DEFAULT_REGISTRY_LIMITS: RegistryLimits = {
  requestsPerWindow: 600,
  authRequestsPerWindow: 30,
  windowMs: 60_000,
  challengeTtlMs: 60_000,
  tokenTtlMs: 3600_000,
  heartbeatTtlMs: 90_000,
  maxSkewMs: DEFAULT_MAX_SKEW_MS,
};

export interface RegistryAppOptions {
  store: RegistryStore;
  networks: ReadonlySet<string>;
  signer: Signer;
  limits?: Partial<RegistryLimits>;
  now?: () => number;
  https?: { cert: Buffer; key: Buffer };
  onRefusal?: (refusal: { status: number; error: string; reason: string; ip: string }) => void;
  /** `GET /ice`: the STUN/TURN servers (with this user's TURN credentials) the operator hands out. */
  ice?: (userId: string) => IceResponse;
}

export interface RegistryAppStats {
  served: number;
  /** `status:error` → count, e.g. `401:UNAUTHORIZED`. */
  refused: Record<string, number>;
}

class HttpRefusal extends Error {
  constructor(
    readonly statusCode: number,
    readonly error: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const refuse = (status: number, error: string, reason: string): never => {
  throw new HttpRefusal(status, error, reason);
};

/** Shared rejection codes → HTTP status: a valid-looking statement by the wrong key is forbidden, junk is a bad request. */
function statusFor(code: RejectCode): number {
  return code === 'BAD_SIGNATURE' || code === 'UNAUTHORIZED' ? 403 : 400;
}

declare module 'fastify' {
  interface FastifyRequest {
    authUserId?: string;
  }
}

export async function buildRegistryApp(options: RegistryAppOptions): Promise<{ app: FastifyInstance; stats(): RegistryAppStats }> {
  const limits = { ...DEFAULT_REGISTRY_LIMITS, ...options.limits };
  const now = options.now ?? Date.now;
  const { store, networks, signer } = options;
  const refused = new Map<string, number>();
  let served = 0;

  const app = Fastify({
    bodyLimit: MAX_REGISTRY_BODY_BYTES,
    logger: false,
    ...(options.https ? { https: options.https } : {}),
  }) as unknown as FastifyInstance;
  app.server.on('connection', (socket: import('node:net').Socket) => socket.setNoDelay(true));

  await app.register(rateLimit, {
    global: true,
    max: limits.requestsPerWindow,
    timeWindow: limits.windowMs,
    hook: 'onRequest',
    errorResponseBuilder: (_req, ctx) => new HttpRefusal(429, 'RATE_LIMITED', `more than ${ctx.max} requests in ${Math.round(limits.windowMs / 1000)} s; retry in ${ctx.after}`),
  });

  function count(status: number, error: string, reason: string, ip: string): void {
    const key = `${status}:${error}`;
    refused.set(key, (refused.get(key) ?? 0) + 1);
    options.onRefusal?.({ status, error, reason, ip });
  }

  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    let status: number;
    let body: RegistryError;
    if (err instanceof HttpRefusal) {
      status = err.statusCode;
      body = { error: err.error, reason: err.reason };
    } else {
      const e = err as { code?: string; statusCode?: number; message?: string };
      if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        status = 413;
        body = { error: 'PAYLOAD_TOO_LARGE', reason: `request bodies are limited to ${MAX_REGISTRY_BODY_BYTES} bytes` };
      } else if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        status = 400;
        body = { error: 'BAD_CONTENT_TYPE', reason: 'send the body as application/json' };
      } else if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
        status = e.statusCode === 413 ? 413 : 400;
        body = { error: status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', reason: (e.message ?? 'bad request').slice(0, 300) };
      } else {
        status = 500;
        body = { error: 'INTERNAL', reason: 'the registry failed to answer; try again' };
        req.log.error({ err }, 'registry request failed');
      }
    }
    count(status, body.error, body.reason, req.ip);
    void reply.code(status).type('application/json').send(body);
  });

  app.setNotFoundHandler((req, reply) => {
    const body: RegistryError = { error: 'NOT_FOUND', reason: `no route ${req.method} ${req.url.slice(0, 100)}` };
    count(404, body.error, body.reason, req.ip);
    void reply.code(404).send(body);
  });

  app.addHook('onResponse', async (_req, reply) => {
    if (reply.statusCode < 400) served++;
  });

  const authLimit = { rateLimit: { max: limits.authRequestsPerWindow, timeWindow: limits.windowMs } };

  async function requireToken(req: FastifyRequest): Promise<void> {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer (\S+)$/.exec(header) : null;
    if (!match) refuse(401, 'UNAUTHORIZED', 'missing Bearer token: POST /auth/challenge, sign the nonce, POST /auth/token');
    const token = match![1]!;
    const userId = REGISTRY_TOKEN_RE.test(token) ? await store.tokenUser(token, now()) : null;
    if (!userId) refuse(401, 'UNAUTHORIZED', 'unknown or expired token: get a new one from /auth/token');
    req.authUserId = userId!;
  }

  function knownNetwork(req: FastifyRequest): string {
    const { networkId } = req.params as { networkId: string };
    if (!NETWORK_ID_RE.test(networkId) || !networks.has(networkId)) refuse(404, 'UNKNOWN_NETWORK', `no network ${JSON.stringify(networkId.slice(0, 64))} on this registry`);
    return networkId;
  }

  app.post('/auth/challenge', { config: authLimit }, async (req): Promise<AuthChallengeResponse> => {
    const parsed = parseAuthChallengeRequest(req.body);
    if (!parsed.ok) return refuse(400, parsed.code, parsed.reason);
    const nonce = toBase64(randomBytes(REGISTRY_NONCE_BYTES));
    const at = now();
    const created = await store.createChallenge(parsed.value.userId, nonce, at, limits.challengeTtlMs);
    if (!created.ok) return refuse(429, created.reason, created.detail);
    return { nonce, expiresAt: new Date(at + limits.challengeTtlMs).toISOString() };
  });

  app.post('/auth/token', { config: authLimit }, async (req): Promise<AuthTokenResponse> => {
    const verified = verifyRegistryAuth(req.body, signer);
    if (!verified.ok) return verified.code === 'SCHEMA' ? refuse(400, 'SCHEMA', verified.reason) : refuse(401, 'UNAUTHORIZED', verified.reason);
    const { userId, nonce } = verified.value;
    if (!(await store.consumeChallenge(userId, nonce, now()))) {
      return refuse(401, 'UNAUTHORIZED', 'unknown, used or expired challenge: POST /auth/challenge again');
    }
    const { token, expiresAt } = await store.issueToken(userId, now(), limits.tokenTtlMs);
    return { token, expiresAt: new Date(expiresAt).toISOString() };
  });

  app.post('/network/:networkId/announce', { preHandler: requireToken }, async (req): Promise<RegistryAck> => {
    const networkId = knownNetwork(req);
    const at = now();
    const verified = verifyAnnounce(req.body, { signer, now: at, maxSkewMs: limits.maxSkewMs, networkId });
    if (!verified.ok) return refuse(statusFor(verified.code), verified.code, verified.reason);
    const announce = verified.value;
    if (announce.userId !== req.authUserId) return refuse(403, 'FORBIDDEN', 'the token belongs to another userId: announce only for yourself');
    const stored = await store.announce(announce, at, announce.ttlMs ?? DEFAULT_ANNOUNCE_TTL_MS);
    if (!stored.ok) return refuse(429, stored.reason, stored.detail);
    return { ok: true as const, expiresAt: new Date(stored.expiresAt).toISOString() };
  });

  app.get('/network/:networkId/peer/:userId', { preHandler: requireToken }, async (req) => {
    const networkId = knownNetwork(req);
    const { userId } = req.params as { userId: string };
    if (!isUserId(userId)) return refuse(400, 'SCHEMA', 'userId must be 64 lowercase hex characters');
    return store.peer(networkId, userId, now());
  });

  app.get('/network/:networkId/active-peers', { preHandler: requireToken }, async (req) => {
    const networkId = knownNetwork(req);
    return { peers: await store.activePeers(networkId, now()) };
  });

  // Behind the token: TURN credentials are per user, and only for users who proved their key.
  app.get('/ice', { preHandler: requireToken }, async (req): Promise<IceResponse> => options.ice?.(req.authUserId!) ?? { iceServers: [], expiresAt: null });

  app.post('/coordinator/heartbeat', { preHandler: requireToken }, async (req): Promise<RegistryAck> => {
    const at = now();
    const verified = verifyCoordinatorHeartbeat(req.body, { signer, now: at, maxSkewMs: limits.maxSkewMs });
    if (!verified.ok) return refuse(statusFor(verified.code), verified.code, verified.reason);
    const hb = verified.value;
    if (!networks.has(hb.networkId)) return refuse(404, 'UNKNOWN_NETWORK', `no network ${hb.networkId} on this registry`);
    if (hb.userId !== req.authUserId) return refuse(403, 'FORBIDDEN', 'the token belongs to another userId: heartbeat only for yourself');
    const stored = await store.heartbeat(hb, at, limits.heartbeatTtlMs);
    return { ok: true as const, expiresAt: new Date(stored.expiresAt).toISOString() };
  });

  return { app, stats: () => ({ served, refused: Object.fromEntries(refused) }) };
}
