/**
 * After a restart, the chunks the saved bitmap calls verified are read back and checked against
 * their signed digests before the receiver asks for the rest. The bitmap is saved often and
 * without an fdatasync (transfers.ts, persist): a killed process loses nothing the kernel already
 * has, but a power cut can lose written data the bitmap vouches for, and this finds it. A chunk
 * that no longer matches (or is past the end of the partial file) is simply asked for again.
 */
import { open } from 'node:fs/promises';
import { chunkLength, chunkMatches, DIGEST_BYTES } from './hashing';
import { clearBit, hasBit } from './ranges';

export interface RecheckResult {
  /** Chunks the bitmap claimed, and those of them that did not match what is on disk. */
  checked: number;
  dropped: number;
}

/** Clears, in `bits`, every claimed chunk whose bytes in `path` do not hash to its digest. */
export async function recheckVerified(path: string, bits: Uint8Array, opts: { count: number; size: number; chunkSize: number; digests: Uint8Array | null }): Promise<RecheckResult> {
  const claimed: number[] = [];
  for (let seq = 0; seq < opts.count; seq++) if (hasBit(bits, seq)) claimed.push(seq);
  const result: RecheckResult = { checked: claimed.length, dropped: 0 };
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
      const digest = opts.digests?.subarray(seq * DIGEST_BYTES, (seq + 1) * DIGEST_BYTES);
      const { bytesRead } = await fh.read(buf, 0, length, seq * opts.chunkSize);
      if (!digest || bytesRead !== length || !chunkMatches(buf.subarray(0, length), digest)) drop(seq);
    }
  } finally {
    await fh.close();
  }
  return result;
}
