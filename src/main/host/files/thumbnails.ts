/**
 * An offer's image thumbnail (issue 9: "images show a thumbnail"): at most MAX_FILE_THUMB_BYTES of
 * PNG/JPEG/GIF/WebP/BMP, recognised by its bytes, never by a claimed type (SVG never). The sender's
 * UI makes one from the picked image; without one, an image file that is itself that small is its
 * own thumbnail. The receiver checks the same way before it stores or shows anything.
 * A received image with no preview in its offer can be shown whole (previewDataUrl), up to 8 MiB.
 */
import { open, readFile, stat } from 'node:fs/promises';
import { MAX_FILE_THUMB_BYTES } from '../../../shared/schemas/datachannel';
import { imageTypeOf, type ImageMime } from '../../../shared/image-magic';

export type ThumbCheck = { ok: true; bytes: Buffer; mime: ImageMime } | { ok: false; reason: string };

/** Checks a thumbnail's bytes: the size cap and a raster image format by its magic bytes. */
export function checkThumb(bytes: Uint8Array): ThumbCheck {
  if (bytes.length === 0) return { ok: false, reason: 'thumbnail is empty' };
  if (bytes.length > MAX_FILE_THUMB_BYTES) return { ok: false, reason: `thumbnail of ${bytes.length} bytes is over ${MAX_FILE_THUMB_BYTES}` };
  const mime = imageTypeOf(bytes);
  if (!mime) return { ok: false, reason: 'thumbnail is not a PNG, JPEG, GIF, WebP or BMP image' };
  return { ok: true, bytes: Buffer.from(bytes), mime };
}

/** Base64 text (from the UI or an offer) to checked thumbnail bytes. */
export function checkThumbBase64(text: string): ThumbCheck {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return { ok: false, reason: 'thumbnail is not base64' };
  return checkThumb(Buffer.from(text, 'base64'));
}

/** The `thumb` of a FileInfo: a data URL of bytes already checked (the format is theirs, not a claim). */
export function thumbDataUrl(bytes: Buffer): string | undefined {
  const mime = imageTypeOf(bytes);
  return mime ? `data:${mime};base64,${bytes.toString('base64')}` : undefined;
}

/** A small image file is its own thumbnail; anything larger, or not an image by its bytes, has none. */
export async function ownThumb(path: string, size: number): Promise<Buffer | null> {
  if (size === 0 || size > MAX_FILE_THUMB_BYTES) return null;
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(size);
    const { bytesRead } = await fh.read(buf, 0, size, 0);
    const checked = checkThumb(buf.subarray(0, bytesRead));
    return checked.ok && bytesRead === size ? checked.bytes : null;
  } finally {
    await fh.close();
  }
}

/** The largest received image shown whole as its own thumbnail (file.preview). */
export const MAX_PREVIEW_BYTES = 8 * 1024 * 1024;

/**
 * A received image file as a data URL, typed by its own bytes (never SVG, never the sender's
 * claim): null if it is not a raster image, or too large to preview whole.
 */
export async function previewDataUrl(path: string): Promise<{ url: string } | { error: 'NOT_AN_IMAGE' | 'TOO_LARGE_TO_PREVIEW' }> {
  const { size } = await stat(path);
  if (size > MAX_PREVIEW_BYTES) return { error: 'TOO_LARGE_TO_PREVIEW' };
  const bytes = await readFile(path);
  const mime = imageTypeOf(bytes);
  return mime ? { url: `data:${mime};base64,${bytes.toString('base64')}` } : { error: 'NOT_AN_IMAGE' };
}
