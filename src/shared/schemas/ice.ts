/**
 * `GET /ice` on a Parley registry: the STUN/TURN servers its operator hands out, with TURN
 * credentials for the asking user (coturn's `use-auth-secret` REST scheme, or a static pair).
 *
 * The client feeds these straight into RTCPeerConnection, whose constructor throws on a URL it
 * can't parse or a TURN entry without credentials; so a response is accepted only when every
 * entry is one an RTCPeerConnection takes, and refused whole (with the reason) otherwise.
 */
import { z } from 'zod';
import { describeIssues } from '../envelope';
import { reject, type Result } from '../errors';
import { iceUrlProblem } from '../settings-urls';

export const MAX_SERVER_ICE_SERVERS = 8;
export const MAX_ICE_URLS_PER_SERVER = 4;
export const MAX_ICE_CREDENTIAL_CHARS = 256;

/** One entry of an RTCPeerConnection's iceServers, as Parley passes them around. */
export interface IceServerEntry {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** What an RTCIceServer needs; plain strings only (no credentials inside the URL). */
export interface ServerIceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

const zIceUrl = z.string().superRefine((url, ctx) => {
  const problem = iceUrlProblem(url);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
  else if (url.includes('@')) ctx.addIssue({ code: 'custom', message: 'credentials go in username/credential, not in the URL' });
});
const zCredential = z.string().min(1).max(MAX_ICE_CREDENTIAL_CHARS).regex(/^[\x20-\x7e]+$/, 'printable ASCII only');

const zServerIceServer = z
  .object({
    urls: z.union([zIceUrl, z.array(zIceUrl).min(1).max(MAX_ICE_URLS_PER_SERVER)]).transform((u) => (Array.isArray(u) ? u : [u])),
    username: zCredential.optional(),
    credential: zCredential.optional(),
  })
  .superRefine((server, ctx) => {
    // zod runs this even when a field already failed, so the values may be anything here.
    if (hasTurnUrl(server.urls) && (server.username === undefined || server.credential === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a TURN server needs username and credential' });
    }
  });

/** True when any URL is a TURN one; tolerates values that failed their own check. */
export function hasTurnUrl(urls: unknown): boolean {
  const list: unknown[] = Array.isArray(urls) ? urls : [urls];
  return list.some((u) => typeof u === 'string' && u.startsWith('turn'));
}

const zIceResponse = z.object({
  iceServers: z.array(zServerIceServer).max(MAX_SERVER_ICE_SERVERS),
  /** When the TURN credentials stop working (ISO 8601); null when nothing expires. */
  expiresAt: z.string().datetime().nullable(),
});

export interface IceResponse {
  iceServers: ServerIceServer[];
  expiresAt: string | null;
}

export function parseIceResponse(body: unknown): Result<IceResponse> {
  const parsed = zIceResponse.safeParse(body);
  if (!parsed.success) return reject('SCHEMA', `ice response: ${describeIssues(parsed.error)}`);
  const iceServers = parsed.data.iceServers.map(({ urls, username, credential }): ServerIceServer => ({
    urls,
    ...(username !== undefined ? { username } : {}),
    ...(credential !== undefined ? { credential } : {}),
  }));
  return { ok: true, value: { iceServers, expiresAt: parsed.data.expiresAt } };
}

/**
 * The user's own servers (settings, `--ice`) first and winning: a server entry loses every URL
 * the user already configured, and an entry left with none is dropped.
 */
export function mergeIceServers(own: IceServerEntry[], fromServer: ServerIceServer[]): IceServerEntry[] {
  const taken = new Set(own.flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls])));
  const rest = fromServer
    .map((s) => ({ ...s, urls: s.urls.filter((u) => !taken.has(u)) }))
    .filter((s) => s.urls.length > 0);
  return [...own, ...rest];
}
