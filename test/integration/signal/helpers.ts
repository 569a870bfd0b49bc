/** Raw WebSocket clients for attacking the signal server, and a few waits. */
import WebSocket from 'ws';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { generateIdentity, type Identity } from '../../../src/shared/identity';
import { parseServerFrame, signSignalAuth, type ServerFrame } from '../../../src/shared/schemas/signal-ws';
import { withTimeout } from '../../../src/shared/timeout';

export interface RawSignal {
  ws: WebSocket;
  identity: Identity;
  deviceId: string;
  frames: ServerFrame[];
  /** Frames that did not parse as server frames (should stay empty). */
  junk: string[];
  closed: Promise<{ code: number; reason: string }>;
  nonce: Promise<string>;
}

/** Opens `{url}/{deviceId}` and records every frame; does not authenticate. */
export function openRaw(url: string, deviceId: string, identity: Identity = generateIdentity(), localAddress?: string): RawSignal {
  const ws = new WebSocket(`${url}/${deviceId}`, { perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) });
  const frames: ServerFrame[] = [];
  const junk: string[] = [];
  let gotNonce!: (nonce: string) => void;
  const nonce = new Promise<string>((resolve) => (gotNonce = resolve));
  ws.on('message', (data) => {
    const parsed = parseServerFrame(data.toString());
    if (!parsed.ok) return void junk.push(data.toString().slice(0, 200));
    frames.push(parsed.value);
    if (parsed.value.type === 'CHALLENGE') gotNonce(parsed.value.nonce);
  });
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return { ws, identity, deviceId, frames, junk, closed, nonce };
}

/** openRaw + a correct AUTH; resolves once READY arrived. */
export async function attachRaw(url: string, deviceId: string, identity: Identity = generateIdentity(), localAddress?: string): Promise<RawSignal> {
  const raw = openRaw(url, deviceId, identity, localAddress);
  const nonce = await withTimeout(raw.nonce, 20_000, 'CHALLENGE');
  raw.ws.send(JSON.stringify(signSignalAuth({ nonce, deviceId }, identity, nodeSigner)));
  await waitFor(() => raw.frames.some((f) => f.type === 'READY'), 'READY', raw);
  return raw;
}

export async function waitFor(check: () => boolean, what: string, raw?: RawSignal, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${raw ? `; frames ${JSON.stringify(raw.frames).slice(0, 400)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const errorsOf = (raw: RawSignal, code?: string) =>
  raw.frames.filter((f): f is Extract<ServerFrame, { type: 'ERROR' }> => f.type === 'ERROR' && (code === undefined || f.code === code));
export const deliveredOf = (raw: RawSignal) =>
  raw.frames.filter((f): f is Extract<ServerFrame, { from: string }> => 'from' in f);
