/**
 * Binary WebSocket frames for file-channel bytes in web mode (src/main/web/server.ts and
 * src/renderer/api/ws-client.ts): the one hot path of the API, so a chunk crosses host⇄page as its
 * own bytes behind a small header instead of base64 inside JSON (which cost the page a JSON parse
 * and a per-character base64 decode of every 64 KiB chunk).
 *
 *   byte  0       kind: 0x01 call `mesh.report {kind:'file.data'}` (page → host)
 *                       0x02 event `mesh.command {op:'file.data'}` (host → page)
 *   bytes 1..4    u32 big-endian call id (kind 0x01; the host's JSON reply carries it), 0 for events
 *   bytes 5..36   mesh session, 32 lowercase hex characters
 *   byte  37      length n of the channel id (2..16)
 *   bytes 38..    channel id (h or r and a number), then the data (at most MAX_FILE_BRIDGE_BYTES)
 *
 * Both ends decode with decodeBridgeFrame, which checks every field and the size cap and says why
 * it refused a frame; the caller counts the refusal. Everything else on the socket stays JSON text.
 */
import { MAX_FILE_BRIDGE_BYTES } from './api';

export const BRIDGE_REPORT = 0x01;
export const BRIDGE_COMMAND = 0x02;
const SESSION_BYTES = 32;
const CID_AT = 1 + 4 + SESSION_BYTES;
const MAX_CID_BYTES = 16;
/** Header and data together never exceed this. */
export const MAX_BRIDGE_FRAME_BYTES = CID_AT + 1 + MAX_CID_BYTES + MAX_FILE_BRIDGE_BYTES;

const SESSION_RE = /^[0-9a-f]{32}$/;
const CID_RE = /^[hr][0-9]{1,15}$/;

export interface BridgeFrame {
  kind: typeof BRIDGE_REPORT | typeof BRIDGE_COMMAND;
  id: number;
  session: string;
  cid: string;
  data: Uint8Array;
}

export type DecodedBridgeFrame = ({ ok: true } & BridgeFrame) | { ok: false; reason: string };

function ascii(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

/** Throws on fields the decoder would refuse: trusted callers only. */
export function encodeBridgeFrame(f: BridgeFrame): Uint8Array {
  if (!SESSION_RE.test(f.session) || !CID_RE.test(f.cid) || f.data.length > MAX_FILE_BRIDGE_BYTES || !Number.isInteger(f.id) || f.id < 0 || f.id > 0xffffffff) {
    throw new Error('bridge frame fields out of range');
  }
  const out = new Uint8Array(CID_AT + 1 + f.cid.length + f.data.length);
  const view = new DataView(out.buffer);
  out[0] = f.kind;
  view.setUint32(1, f.id);
  for (let i = 0; i < SESSION_BYTES; i++) out[5 + i] = f.session.charCodeAt(i);
  out[CID_AT] = f.cid.length;
  for (let i = 0; i < f.cid.length; i++) out[CID_AT + 1 + i] = f.cid.charCodeAt(i);
  out.set(f.data, CID_AT + 1 + f.cid.length);
  return out;
}

/** Total: returns a reason for anything that is not exactly one well-formed frame of `expect`. */
export function decodeBridgeFrame(bytes: Uint8Array, expect: BridgeFrame['kind']): DecodedBridgeFrame {
  if (bytes.length > MAX_BRIDGE_FRAME_BYTES) return { ok: false, reason: `binary frame of ${bytes.length} bytes exceeds ${MAX_BRIDGE_FRAME_BYTES}` };
  if (bytes.length < CID_AT + 1) return { ok: false, reason: `binary frame of ${bytes.length} bytes is shorter than its header` };
  if (bytes[0] !== expect) return { ok: false, reason: `binary frame kind ${bytes[0]} where ${expect} was expected` };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const id = view.getUint32(1);
  const session = ascii(bytes.subarray(5, CID_AT));
  if (!SESSION_RE.test(session)) return { ok: false, reason: 'binary frame session is not 32 hex characters' };
  const n = bytes[CID_AT]!;
  if (n < 2 || n > MAX_CID_BYTES || bytes.length < CID_AT + 1 + n) return { ok: false, reason: `binary frame channel id length ${n} out of range` };
  const cid = ascii(bytes.subarray(CID_AT + 1, CID_AT + 1 + n));
  if (!CID_RE.test(cid)) return { ok: false, reason: 'binary frame channel id is not h or r and a number' };
  const data = bytes.subarray(CID_AT + 1 + n);
  if (data.length > MAX_FILE_BRIDGE_BYTES) return { ok: false, reason: `binary frame data of ${data.length} bytes exceeds ${MAX_FILE_BRIDGE_BYTES}` };
  if (expect === BRIDGE_COMMAND && id !== 0) return { ok: false, reason: 'binary event frame carries a call id' };
  return { ok: true, kind: expect, id, session, cid, data };
}
