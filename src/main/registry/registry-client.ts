/**
 * Host-side client of one registry (DESIGN section 8, REACH-CONTRACT). Gets a Bearer token by
 * signing the registry's challenge, renews it before it expires (and once more on a 401), and
 * validates every response with the shared zod schemas. Each call takes a timeout and an
 * optional AbortSignal; failures are RegistryRequestError with the registry's `{error, reason}`.
 */
import type { Signer } from '../../shared/crypto';
import type { Identity } from '../../shared/identity';
import type { Result } from '../../shared/errors';
import {
  parseActivePeersResponse, parseAuthChallengeResponse, parseAuthTokenResponse, parsePeerResponse, parseRegistryAck, parseRegistryError,
  signAnnounce, signCoordinatorHeartbeat, signRegistryAuth,
  type ActivePeer, type Announce, type CoordinatorHeartbeat, type PeerResponse, type RegistryAck,
} from '../../shared/schemas/registry';
import { parseIceResponse, type IceResponse } from '../../shared/schemas/ice';

export interface RegistryClientOptions {
  /** `http(s)://host:port` */
  baseUrl: string;
  identity: Identity;
  signer: Signer;
  /** Per-call timeout unless the call gives its own. Default 5 s. */
  timeoutMs?: number;
  /** Renew the token when it has less than this left. Default 60 s. */
  renewBeforeMs?: number;
  now?: () => number;
  fetch?: typeof fetch;
}

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export class RegistryRequestError extends Error {
  constructor(
    /** HTTP status, or 0 when no response arrived (network error, timeout, abort). */
    readonly status: number,
    readonly error: string,
    readonly reason: string,
  ) {
    super(status ? `registry ${status} ${error}: ${reason}` : `registry unreachable: ${reason}`);
  }
}

/** The largest answer is active-peers (1,000 peers of a few hundred bytes); anything far past that is not a registry. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

class ResponseTooLarge extends Error {}

/** The body as text, refused (and the rest not read) past `max` bytes, so a hostile server can't fill memory. */
async function readCapped(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLarge(`response larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export type AnnounceFields = Omit<Announce, 'userId' | 'ts' | 'sig' | 'networkId'>;
export type HeartbeatFields = Omit<CoordinatorHeartbeat, 'userId' | 'ts' | 'sig'>;

export class RegistryClient {
  private token: { value: string; expiresAt: number } | null = null;
  private pendingToken: Promise<string> | null = null;
  private readonly baseUrl: string;

  constructor(private readonly options: RegistryClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  /** Signed announce of this device in `networkId`; resolves to when the registry will consider it offline. */
  async announce(networkId: string, fields: AnnounceFields, call: CallOptions = {}): Promise<RegistryAck> {
    const body = signAnnounce({ ...fields, networkId }, this.options.identity, this.options.signer);
    return this.authed('POST', `/network/${encodeURIComponent(networkId)}/announce`, body, call, parseRegistryAck);
  }

  async getPeer(networkId: string, userId: string, call: CallOptions = {}): Promise<PeerResponse> {
    return this.authed('GET', `/network/${encodeURIComponent(networkId)}/peer/${encodeURIComponent(userId)}`, undefined, call, parsePeerResponse);
  }

  async activePeers(networkId: string, call: CallOptions = {}): Promise<ActivePeer[]> {
    const res = await this.authed('GET', `/network/${encodeURIComponent(networkId)}/active-peers`, undefined, call, parseActivePeersResponse);
    return res.peers;
  }

  async heartbeat(fields: HeartbeatFields, call: CallOptions = {}): Promise<RegistryAck> {
    const body = signCoordinatorHeartbeat(fields, this.options.identity, this.options.signer);
    return this.authed('POST', '/coordinator/heartbeat', body, call, parseRegistryAck);
  }

  /** The STUN/TURN servers this registry's operator hands out, with TURN credentials for this user. */
  async ice(call: CallOptions = {}): Promise<IceResponse> {
    return this.authed('GET', '/ice', undefined, call, parseIceResponse);
  }

  /** A valid token (fetching or renewing one when needed). Concurrent callers share one fetch. */
  async getToken(call: CallOptions = {}): Promise<string> {
    const now = (this.options.now ?? Date.now)();
    if (this.token && this.token.expiresAt - now > (this.options.renewBeforeMs ?? 60_000)) return this.token.value;
    this.pendingToken ??= this.fetchToken(call).finally(() => (this.pendingToken = null));
    return this.pendingToken;
  }

  private async fetchToken(call: CallOptions): Promise<string> {
    const challenge = await this.request('POST', '/auth/challenge', { userId: this.options.identity.userId }, undefined, call, parseAuthChallengeResponse);
    const body = signRegistryAuth(challenge.nonce, this.options.identity, this.options.signer);
    const issued = await this.request('POST', '/auth/token', body, undefined, call, parseAuthTokenResponse);
    this.token = { value: issued.token, expiresAt: Date.parse(issued.expiresAt) };
    return issued.token;
  }

  private async authed<T>(method: string, path: string, body: unknown, call: CallOptions, parse: (v: unknown) => Result<T>): Promise<T> {
    const token = await this.getToken(call);
    try {
      return await this.request(method, path, body, token, call, parse);
    } catch (err) {
      // The registry may have forgotten the token (expired, or another deployment): one fresh try.
      if (!(err instanceof RegistryRequestError) || err.status !== 401) throw err;
      this.token = null;
      return this.request(method, path, body, await this.getToken(call), call, parse);
    }
  }

  private async request<T>(
    method: string,
    path: string,
    body: unknown,
    token: string | undefined,
    call: CallOptions,
    parse: (v: unknown) => Result<T>,
  ): Promise<T> {
    const timeout = AbortSignal.timeout(call.timeoutMs ?? this.options.timeoutMs ?? 5000);
    const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    let res: Response;
    let payload: unknown;
    try {
      res = await (this.options.fetch ?? fetch)(`${this.baseUrl}${path}`, {
        method,
        headers,
        signal,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await readCapped(res, MAX_RESPONSE_BYTES);
      payload = text.length ? JSON.parse(text) : undefined;
    } catch (err) {
      const e = err as Error;
      const reason = e.name === 'TimeoutError' ? 'timed out' : e.name === 'AbortError' ? 'aborted' : e.message;
      throw new RegistryRequestError(0, e.name === 'SyntaxError' || e instanceof ResponseTooLarge ? 'BAD_RESPONSE' : 'UNREACHABLE', reason);
    }
    if (!res.ok) {
      const parsed = parseRegistryError(payload);
      throw parsed.ok
        ? new RegistryRequestError(res.status, parsed.value.error, parsed.value.reason)
        : new RegistryRequestError(res.status, 'HTTP_ERROR', `status ${res.status} without a registry error body`);
    }
    let parsed: Result<T>;
    try {
      parsed = parse(payload);
    } catch (err) {
      // A validator bug must not turn a hostile body into an unexpected exception for the caller.
      parsed = { ok: false, code: 'SCHEMA', reason: `response could not be checked: ${(err as Error).message}` } as Result<T>;
    }
    if (!parsed.ok) throw new RegistryRequestError(res.status, 'BAD_RESPONSE', parsed.reason);
    return parsed.value;
  }
}
