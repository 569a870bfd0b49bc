/**
 * Reading and writing runs of consecutive chunks with one vectored call (readv/writev): one
 * thread-pool round trip per run instead of one per 64 KiB chunk, and no copy into a block buffer
 * (the sender reads straight into each frame's payload, the receiver writes the payloads it got).
 */
import type { FileHandle } from 'node:fs/promises';

/** Fills every buffer in order from `position`; throws if the file ends first. */
export async function readFully(fh: FileHandle, buffers: Uint8Array[], position: number): Promise<void> {
  const total = buffers.reduce((n, b) => n + b.length, 0);
  const { bytesRead } = await fh.readv(buffers, position);
  if (bytesRead === total) return;
  // A short vectored read: finish piece by piece from where it stopped.
  let skip = bytesRead;
  let pos = position + bytesRead;
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    for (let got = skip; got < b.length; ) {
      const r = await fh.read(b, got, b.length - got, pos);
      if (r.bytesRead === 0) throw new Error('short read');
      got += r.bytesRead;
      pos += r.bytesRead;
    }
    skip = 0;
  }
}

/** Writes every buffer in order from `position`. */
export async function writeFully(fh: FileHandle, buffers: Uint8Array[], position: number): Promise<void> {
  const total = buffers.reduce((n, b) => n + b.length, 0);
  const { bytesWritten } = await fh.writev(buffers, position);
  if (bytesWritten === total) return;
  let skip = bytesWritten;
  let pos = position + bytesWritten;
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    for (let put = skip; put < b.length; ) {
      const w = await fh.write(b, put, b.length - put, pos);
      put += w.bytesWritten;
      pos += w.bytesWritten;
    }
    skip = 0;
  }
}
