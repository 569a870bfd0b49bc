/**
 * Web mode's two file routes, both behind the API token (the page has no file system of its own):
 *   POST /upload?token=T&name=N   the page's dropped/picked file, streamed into <profile>/outgoing
 *                                 → {path}, which the page then offers with file.send
 *   GET  /files/ID?token=T        a received, verified file (download link and image thumbnails)
 */
import { closeSync, createReadStream, createWriteStream, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomId } from '../../shared/ids';
import { sanitizeFileName } from '../host/files/names';
import { IMAGE_HEAD_BYTES, isImageMime, looksLike } from '../../shared/image-magic';
import type { ApiHost } from './server';

const MAX_UPLOAD_BYTES = 64 * 1024 ** 3;

function readHead(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(IMAGE_HEAD_BYTES);
    return buf.subarray(0, readSync(fd, buf, 0, IMAGE_HEAD_BYTES, 0));
  } finally {
    closeSync(fd);
  }
}

export function isFileRoute(pathname: string): boolean {
  return pathname === '/upload' || /^\/files\/[0-9a-f]{32}$/.test(pathname);
}

export async function serveFileRoute(
  req: IncomingMessage, res: ServerResponse, url: URL, host: ApiHost, uploadDir: string | undefined, headers: Record<string, string>,
): Promise<void> {
  const json = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(body));
  };
  if (url.pathname === '/upload') {
    if (req.method !== 'POST') return json(405, { error: 'POST the file' });
    if (!uploadDir) return json(404, { error: 'uploads are not enabled' });
    const length = Number(req.headers['content-length'] ?? NaN);
    if (!Number.isFinite(length) || length > MAX_UPLOAD_BYTES) return json(413, { error: 'send a Content-Length of at most 64 GiB' });
    const dir = join(uploadDir, randomId());
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, sanitizeFileName(url.searchParams.get('name') ?? 'file').name);
    await pipeline(req, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
    return json(200, { path });
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'GET only' });
  const id = url.pathname.slice('/files/'.length);
  const file = (await host.handle('files.list', { limit: 1000 })).find((f) => f.id === id);
  if (!file || file.direction !== 'in' || file.state !== 'done' || !file.path) return json(404, { error: 'no received file with that id' });
  const size = statSync(file.path).size;
  // Never rendered as a page of ours: images show inline (thumbnails), everything else downloads.
  // The mime is the sender's word, so an inline image must also start like one (never SVG).
  const image = isImageMime(file.mime) && looksLike(file.mime, readHead(file.path));
  res.writeHead(200, {
    'content-type': image ? file.mime! : 'application/octet-stream',
    'content-length': String(size),
    'content-disposition': `${image ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(file.name)}`,
    'cache-control': 'no-store',
    ...headers,
  });
  if (req.method === 'HEAD') return void res.end();
  await pipeline(createReadStream(file.path), res);
}
