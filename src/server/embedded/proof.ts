/**
 * The embedded background server proves to attaching app instances that it is the one their
 * user started: at start it writes a random secret into `DATA/embedded.json` (mode 0600, so only
 * that user can read it), and answers `GET /.parley/embedded?nonce=HEX` on its MQTT WebSocket
 * port with HMAC-SHA256(secret, nonce). Something else squatting on the port can't answer.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { z } from 'zod';

export const PROOF_PATH = '/.parley/embedded';
const NONCE_RE = /^[0-9a-f]{32,128}$/;

const infoSchema = z.strictObject({ pid: z.number().int(), mqtt: z.string(), mqttWs: z.string(), secret: z.string().regex(/^[0-9a-f]{64}$/) });
export type EmbeddedInfo = z.infer<typeof infoSchema>;

export function infoFile(dataDir: string): string {
  return join(dataDir, 'embedded.json');
}

export function newSecret(): string {
  return randomBytes(32).toString('hex');
}

export function writeEmbeddedInfo(dataDir: string, info: EmbeddedInfo): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(infoFile(dataDir), JSON.stringify(info), { mode: 0o600 });
}

export function readEmbeddedInfo(dataDir: string): EmbeddedInfo | null {
  try {
    const parsed = infoSchema.safeParse(JSON.parse(readFileSync(infoFile(dataDir), 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function proofFor(secret: string, nonce: string): string {
  return createHmac('sha256', Buffer.from(secret, 'hex')).update(nonce).digest('hex');
}

export function proofHandler(secret: string): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== PROOF_PATH) return false;
    const nonce = url.searchParams.get('nonce') ?? '';
    if (!NONCE_RE.test(nonce)) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"nonce must be 32-128 hex characters"}');
      return true;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ proof: proofFor(secret, nonce) }));
    return true;
  };
}

/** True when whatever answers on `wsPort` holds the secret in `dataDir`. */
export async function verifyEmbedded(dataDir: string, wsPort: number, timeoutMs = 2000): Promise<boolean> {
  const info = readEmbeddedInfo(dataDir);
  if (!info) return false;
  const nonce = randomBytes(16).toString('hex');
  try {
    const res = await fetch(`http://127.0.0.1:${wsPort}${PROOF_PATH}?nonce=${nonce}`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return false;
    const body = (await res.json()) as { proof?: unknown };
    if (typeof body.proof !== 'string' || !/^[0-9a-f]{64}$/.test(body.proof)) return false;
    return timingSafeEqual(Buffer.from(body.proof, 'hex'), Buffer.from(proofFor(info.secret, nonce), 'hex'));
  } catch {
    return false;
  }
}
