/** Bitmaps of verified chunks and the [start, end) ranges still missing. */

export function newBitmap(count: number): Buffer {
  return Buffer.alloc(Math.ceil(count / 8));
}

export function hasBit(bits: Uint8Array, i: number): boolean {
  return ((bits[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
}

export function setBit(bits: Uint8Array, i: number): void {
  bits[i >> 3] = (bits[i >> 3] ?? 0) | (1 << (i & 7));
}

export function clearBit(bits: Uint8Array, i: number): void {
  bits[i >> 3] = (bits[i >> 3] ?? 0) & ~(1 << (i & 7));
}

export function countBits(bits: Uint8Array, count: number): number {
  let n = 0;
  for (let i = 0; i < count; i++) if (hasBit(bits, i)) n++;
  return n;
}

/** Missing chunk ranges; past `maxRanges` the last range stretches to the end (re-sending a few verified chunks is harmless). */
export function missingRanges(bits: Uint8Array, count: number, maxRanges: number): [number, number][] {
  const ranges: [number, number][] = [];
  let start = -1;
  for (let i = 0; i <= count; i++) {
    const missing = i < count && !hasBit(bits, i);
    if (missing && start < 0) start = i;
    if (!missing && start >= 0) {
      if (ranges.length === maxRanges - 1) {
        ranges.push([start, count]);
        return ranges;
      }
      ranges.push([start, i]);
      start = -1;
    }
  }
  return ranges;
}

export function rangesValid(ranges: readonly (readonly [number, number])[], count: number): boolean {
  return ranges.every(([s, e]) => s >= 0 && s < e && e <= count);
}

export function chunksIn(ranges: readonly (readonly [number, number])[]): number {
  return ranges.reduce((n, [s, e]) => n + (e - s), 0);
}
