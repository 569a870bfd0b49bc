/** SHA-256 of a whole file and of each of its chunks, read once, streaming (never the whole file in memory). */
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';

export const DIGEST_BYTES = 32;

export interface FileDigests {
  size: number;
  sha256: string;
  /** Concatenated SHA-256 digests of chunk 0, 1, … (32 bytes each). */
  chunkHashes: Buffer;
  /** SHA-256 of chunkHashes: what the signed offer carries to bind every chunk. */
  chunksSha256: string;
}

export function chunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

export function chunkLength(seq: number, size: number, chunkSize: number): number {
  return Math.min(chunkSize, size - seq * chunkSize);
}

/** Whether a chunk's bytes hash to its 32-byte digest from the signed list. */
export function chunkMatches(bytes: Uint8Array, digest: Uint8Array): boolean {
  return digest.length === DIGEST_BYTES && createHash('sha256').update(bytes).digest().equals(digest);
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function digestFile(path: string, chunkSize: number): Promise<FileDigests> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const count = chunkCount(size, chunkSize);
    const chunkHashes = Buffer.alloc(count * DIGEST_BYTES);
    const whole = createHash('sha256');
    // Read several chunks per call: fewer thread-pool round trips.
    const perRead = Math.max(1, Math.floor((4 * 1024 * 1024) / chunkSize));
    const buf = Buffer.allocUnsafe(perRead * chunkSize);
    for (let seq = 0; seq < count; seq += perRead) {
      const want = Math.min(buf.length, size - seq * chunkSize);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await fh.read(buf, got, want - got, seq * chunkSize + got);
        if (bytesRead === 0) throw new Error(`${path} shrank while it was being read`);
        got += bytesRead;
      }
      whole.update(buf.subarray(0, want));
      for (let i = 0; i * chunkSize < want; i++) {
        const piece = buf.subarray(i * chunkSize, Math.min(want, (i + 1) * chunkSize));
        createHash('sha256').update(piece).digest().copy(chunkHashes, (seq + i) * DIGEST_BYTES);
      }
    }
    return { size, sha256: whole.digest('hex'), chunkHashes, chunksSha256: sha256Hex(chunkHashes) };
  } finally {
    await fh.close();
  }
}

/** SHA-256 of a file's contents, streaming. */
export function hashFile(path: string): Promise<string> {
  return finishHash(path, createHash('sha256'), 0);
}

/**
 * Completes `hash`, which already covers the file's first `from` bytes, with the rest read from
 * disk: the receiver hashes chunks as they arrive in order, so only what came out of order (after
 * a resume or a restart) is read back at the end.
 */
export async function finishHash(path: string, hash: Hash, from: number): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (let pos = from; ; ) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    return hash.digest('hex');
  } finally {
    await fh.close();
  }
}
