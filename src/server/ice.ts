/**
 * ICE servers a Parley server hands to its clients (registry `GET /ice`): the static ones from the
 * config (STUN, or TURN with a fixed username/credential) plus, with `turn.secret`, coturn
 * `use-auth-secret` credentials (the TURN REST API scheme): username `expiry:userId`, credential
 * base64(HMAC-SHA1(secret, username)), so a leaked one stops working at `expiry`.
 */
import { createHmac } from 'node:crypto';
import type { ServerConfig } from './config';
import type { IceResponse, ServerIceServer } from '../shared/schemas/ice';

export function iceServersFor(config: Pick<ServerConfig, 'iceServers' | 'turn'>, userId: string, nowMs: number): IceResponse {
  const servers: ServerIceServer[] = (config.iceServers ?? []).map((s) => ({ ...s, urls: Array.isArray(s.urls) ? s.urls : [s.urls] }));
  let expiresAt: string | null = null;
  if (config.turn) {
    const expiry = Math.floor(nowMs / 1000) + config.turn.ttlSeconds;
    const username = `${expiry}:${userId}`;
    const credential = createHmac('sha1', config.turn.secret).update(username).digest('base64');
    servers.push({ urls: config.turn.urls, username, credential });
    expiresAt = new Date(expiry * 1000).toISOString();
  }
  return { iceServers: servers, expiresAt };
}
