/** Data-channel frames are strings of at most 64 KiB of UTF-8 (the envelope limit). */
export const MAX_FRAME_BYTES = 64 * 1024;

/** UTF-8 length of a JS string without allocating (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8ByteLength(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

export function fitsFrame(s: string, maxBytes = MAX_FRAME_BYTES): boolean {
  if (s.length > maxBytes) return false; // every UTF-16 unit is at least one byte
  if (s.length * 3 <= maxBytes) return true; // every unit is at most three bytes
  return utf8ByteLength(s) <= maxBytes;
}
