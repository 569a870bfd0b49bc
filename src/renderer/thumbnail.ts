/**
 * The preview an image's offer carries (src/main/host/files/thumbnails.ts checks it again): the
 * picked image scaled to at most THUMB_PX on its long side and encoded as JPEG under the offer's
 * 16 KiB cap. Best effort: a format the browser cannot decode, or a very large file, gets none.
 */
import { toBase64 } from '../shared/encoding';
import { MAX_FILE_THUMB_BYTES } from '../shared/schemas/datachannel';

const THUMB_PX = 160;
/** Decoding a bigger picture only for a preview is not worth its memory. */
const MAX_SOURCE_BYTES = 64 * 1024 * 1024;
const RASTER = /^image\/(png|jpeg|gif|webp|bmp)$/;
/** Only a data URL of these formats is put in an <img> (the host made it from checked bytes). */
const THUMB_URL = /^data:image\/(png|jpeg|gif|webp|bmp);base64,[A-Za-z0-9+/]+={0,2}$/;

export function isThumbUrl(url: string | undefined): url is string {
  return url !== undefined && url.length < 4 * MAX_FILE_THUMB_BYTES && THUMB_URL.test(url);
}

/** A whole received image from file.preview (the host typed it by its bytes; up to 8 MiB). */
export function isImageDataUrl(url: string | undefined): url is string {
  return url !== undefined && url.length < 12 * 1024 * 1024 && THUMB_URL.test(url);
}

export async function makeThumbnail(file: Blob): Promise<string | undefined> {
  if (!RASTER.test(file.type) || file.size === 0 || file.size > MAX_SOURCE_BYTES) return undefined;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, THUMB_PX / Math.max(bitmap.width, bitmap.height));
    const w = Math.max(1, Math.round(bitmap.width * scale));
    const h = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = new OffscreenCanvas(w, h);
    const ctx = canvas.getContext('2d');
    if (!ctx) return undefined;
    ctx.fillStyle = '#fff'; // JPEG has no transparency
    ctx.fillRect(0, 0, w, h);
    ctx.drawImage(bitmap, 0, 0, w, h);
    bitmap.close();
    for (const quality of [0.8, 0.6, 0.4]) {
      const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality });
      if (blob.size <= MAX_FILE_THUMB_BYTES) return toBase64(new Uint8Array(await blob.arrayBuffer()));
    }
  } catch {
    // Not decodable here: the offer goes without a preview.
  }
  return undefined;
}
