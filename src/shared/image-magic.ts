/**
 * Which raster image format bytes really are, by their first bytes (never by a name or a claimed
 * mime): decides whether a received file is served inline as an image, and whether an offer's
 * thumbnail is shown. Never SVG (it is a document that can carry script). Runs in Node and browsers.
 */
export const IMAGE_MIMES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp'] as const;
export type ImageMime = (typeof IMAGE_MIMES)[number];

const latin1 = (b: Uint8Array, from: number, to: number): string => String.fromCharCode(...b.subarray(from, to));
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const MAGIC: Record<ImageMime, (b: Uint8Array) => boolean> = {
  'image/png': (b) => b.length >= 8 && PNG.every((x, i) => b[i] === x),
  'image/jpeg': (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  'image/gif': (b) => latin1(b, 0, 6) === 'GIF87a' || latin1(b, 0, 6) === 'GIF89a',
  'image/webp': (b) => latin1(b, 0, 4) === 'RIFF' && latin1(b, 8, 12) === 'WEBP',
  'image/bmp': (b) => b[0] === 0x42 && b[1] === 0x4d,
};

/** Bytes a format is recognised by (at most): read this many from the start of a file. */
export const IMAGE_HEAD_BYTES = 16;

export function isImageMime(mime: string | null | undefined): mime is ImageMime {
  return (IMAGE_MIMES as readonly string[]).includes(mime ?? '');
}

/** The bytes start the way the format `mime` names. */
export function looksLike(mime: string, head: Uint8Array): boolean {
  return isImageMime(mime) && MAGIC[mime](head);
}

/** The format the bytes start like, or null. */
export function imageTypeOf(head: Uint8Array): ImageMime | null {
  return IMAGE_MIMES.find((m) => MAGIC[m](head)) ?? null;
}
