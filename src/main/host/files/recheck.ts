/**
 * After a restart, the chunks the saved bitmap calls verified are read back and checked against
 * their signed digests before the receiver asks for the rest. The bitmap is saved often and
 * without an fdatasync (transfers.ts, persist): a killed process loses nothing the kernel already
 * has, but a power cut can lose written data the bitmap vouches for, and this finds it. A chunk
 * that no longer matches (or is past the end of the partial file) is simply asked for again.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { chunkLength, DIGEST_BYTES } from './hashing';
import { clearBit, hasBit } from './ranges';

export interface RecheckResult {
  /** Chunks still verified, and their bytes. */
  verified: number;
  bytes: number;
  /** Chunks the bitmap claimed that did not match what is on disk. */
  dropped: number;
}

/** Clears, in `bits`, every claimed chunk whose bytes in `path` do not hash to its digest. */
export async function recheckVerified(path: string, bits: Uint8Array, opts: { count: number; size: number; chunkSize: number; digests: Uint8Array | null }): Promise<RecheckResult> {
  const result: RecheckResult = { verified: 0, bytes: 0, dropped: 0 };
  const claimed: number[] = [];
  for (let seq = 0; seq < opts.count; seq++) if (hasBit(bits, seq)) claimed.push(seq);
  if (claimed.length === 0) return result;
  const drop = (seq: number): void => {
    clearBit(bits, seq);
    result.dropped++;
  };
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    claimed.forEach(drop); // no partial file at all
    return result;
  }
  try {
    const buf = Buffer.alloc(opts.chunkSize);
    for (const seq of claimed) {
      const length = chunkLength(seq, opts.size, opts.chunkSize);
      const expected = opts.digests?.subarray(seq * DIGEST_BYTES, (seq + 1) * DIGEST_BYTES);
      const { bytesRead } = await fh.read(buf, 0, length, seq * opts.chunkSize);
      const ok = expected !== undefined && expected.length === DIGEST_BYTES && bytesRead === length
        && createHash('sha256').update(buf.subarray(0, length)).digest().equals(expected);
      if (!ok) {
        drop(seq);
        continue;
      }
      result.verified++;
      result.bytes += length;
    }
  } finally {
    await fh.close();
  }
  return result;
}
