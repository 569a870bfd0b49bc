/**
 * Binary messages on a transfer's own data channel (label `file:<fileId>`). The signed FILE_OFFER
 * binds them: it carries the file's SHA-256 and the SHA-256 of the per-chunk digest list, so these
 * messages need no signatures of their own (README, "File transfer").
 *
 *   sender → receiver  0x02 HASHES  u32 first index, then 32-byte digests (the chunk digest list)
 *   sender → receiver  0x01 CHUNK   u32 seq, then the chunk's bytes (FILE_CHUNK)
 *   receiver → sender  0x03 WRITTEN u32 number of chunks verified and written on this channel
 *                      (flow-control credit); WRITTEN 0 first, as soon as the receiver listens:
 *                      the sender sends nothing before it
 */
export const FILE_CHANNEL_PREFIX = 'file:';
export const MSG_CHUNK = 0x01;
export const MSG_HASHES = 0x02;
export const MSG_WRITTEN = 0x03;
export const HEADER_BYTES = 5;
/** Digests per HASHES message: 2,000 × 32 B + header stays under 64 KiB. */
export const HASHES_PER_MESSAGE = 2000;

export type WireMessage =
  | { kind: 'chunk'; seq: number; data: Uint8Array }
  | { kind: 'hashes'; first: number; digests: Uint8Array }
  | { kind: 'written'; count: number };

export function channelLabel(fileId: string): string {
  return `${FILE_CHANNEL_PREFIX}${fileId}`;
}

export function fileIdOfLabel(label: string): string | null {
  if (!label.startsWith(FILE_CHANNEL_PREFIX)) return null;
  const id = label.slice(FILE_CHANNEL_PREFIX.length);
  return /^[0-9a-f]{32}$/.test(id) ? id : null;
}

export function header(kind: number, n: number, payloadBytes: number): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_BYTES + payloadBytes);
  buf[0] = kind;
  buf.writeUInt32BE(n, 1);
  return buf;
}

export function encodeWritten(count: number): Uint8Array {
  return header(MSG_WRITTEN, count, 0);
}

export function encodeHashes(first: number, digests: Uint8Array): Uint8Array {
  const buf = header(MSG_HASHES, first, digests.length);
  buf.set(digests, HEADER_BYTES);
  return buf;
}

/** Null for anything that is not one of the three messages (the caller counts it). */
export function decodeWire(data: Uint8Array): WireMessage | null {
  if (data.length < HEADER_BYTES) return null;
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const n = view.readUInt32BE(1);
  const payload = data.subarray(HEADER_BYTES);
  switch (data[0]) {
    case MSG_CHUNK:
      return { kind: 'chunk', seq: n, data: payload };
    case MSG_HASHES:
      return payload.length % 32 === 0 && payload.length > 0 ? { kind: 'hashes', first: n, digests: payload } : null;
    case MSG_WRITTEN:
      return payload.length === 0 ? { kind: 'written', count: n } : null;
    default:
      return null;
  }
}
