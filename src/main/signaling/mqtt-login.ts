import type { Signer } from '../../shared/crypto';
import { fromBase64, toBase64, utf8 } from '../../shared/encoding';
import { isUserId, publicKeyFromUserId, type Identity } from '../../shared/identity';

/**
 * MQTT login: username = userId, password = JSON {ts, sig} where sig is Ed25519 (base64) over
 * `parley-mqtt-login:${clientId}:${ts}`. Binding the clientId stops a captured password from
 * opening someone else's persistent session; the timestamp bounds how long it can be replayed.
 * Brokers that do not check it (anonymous Mosquitto) simply ignore it.
 */
export const LOGIN_MAX_SKEW_MS = 2 * 60 * 1000;
const DEVICE_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

export function mqttClientId(userId: string, deviceId: string): string {
  return `parley-${userId.slice(0, 16)}-${deviceId}`;
}

export function loginMessage(clientId: string, ts: number): Uint8Array {
  return utf8(`parley-mqtt-login:${clientId}:${ts}`);
}

export function makeLoginPassword(identity: Identity, clientId: string, signer: Signer, ts: number): string {
  const sig = signer.sign(loginMessage(clientId, ts), identity.secretKey);
  return JSON.stringify({ ts, sig: toBase64(sig) });
}

/** `ts` identifies this login: with the clientId it is what a broker remembers to refuse a replay. */
export type LoginVerdict = { ok: true; ts: number } | { ok: false; reason: string };

export function verifyLogin(
  username: string | undefined,
  clientId: string,
  password: Uint8Array | string | undefined,
  signer: Signer,
  now: number,
): LoginVerdict {
  if (username === undefined || !isUserId(username)) return { ok: false, reason: 'username is not a userId' };
  const prefix = `parley-${username.slice(0, 16)}-`;
  if (!clientId.startsWith(prefix) || !DEVICE_ID_RE.test(clientId.slice(prefix.length))) {
    return { ok: false, reason: 'clientId does not match parley-{userId16}-{deviceId}' };
  }
  if (password === undefined || password.length === 0) return { ok: false, reason: 'missing password' };
  if (password.length > 512) return { ok: false, reason: 'password too long' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof password === 'string' ? password : Buffer.from(password).toString('utf8'));
  } catch {
    return { ok: false, reason: 'password is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null) return { ok: false, reason: 'password is not an object' };
  const { ts, sig } = parsed as { ts?: unknown; sig?: unknown };
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts)) return { ok: false, reason: 'password ts is not an integer' };
  if (typeof sig !== 'string') return { ok: false, reason: 'password sig is not a string' };
  if (Math.abs(now - ts) > LOGIN_MAX_SKEW_MS) return { ok: false, reason: 'login timestamp outside 2 minutes' };
  let sigBytes: Uint8Array;
  try {
    sigBytes = fromBase64(sig);
  } catch {
    return { ok: false, reason: 'password sig is not base64' };
  }
  const publicKey = publicKeyFromUserId(username);
  if (!publicKey || !signer.verify(loginMessage(clientId, ts), sigBytes, publicKey)) {
    return { ok: false, reason: 'login signature does not verify' };
  }
  return { ok: true, ts };
}
