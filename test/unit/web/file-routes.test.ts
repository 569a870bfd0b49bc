/** Web mode's upload and download routes, attacked and used over real loopback HTTP. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiArgs, ApiCall, ApiResults, FileInfo } from '../../../src/shared/api';
import { startWebServer, type WebServer } from '../../../src/main/web/server';
import { FakeHost } from './fake-host';

const IN_ID = '1'.repeat(32);
const OUT_ID = '2'.repeat(32);
const PNG_ID = '4'.repeat(32);
const FAKE_PNG_ID = '5'.repeat(32);

class FilesHost extends FakeHost {
  constructor(private readonly files: FileInfo[]) {
    super();
  }
  override async handle<C extends ApiCall>(call: C, args: ApiArgs<C>): Promise<ApiResults[C]> {
    if (call === 'files.list') return this.files as ApiResults[C];
    return super.handle(call, args);
  }
}

let server: WebServer;
let dir: string;
let received: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'parley-file-routes-'));
  received = join(dir, 'report.pdf');
  writeFileSync(received, 'verified bytes');
  writeFileSync(join(dir, 'photo.png'), Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(8)]));
  writeFileSync(join(dir, 'fake.png'), '<html><script>alert(1)</script></html>');
  const files: FileInfo[] = [
    { id: IN_ID, peer: 'ab'.repeat(32), direction: 'in', name: 'report.pdf', size: 14, mime: 'application/pdf', state: 'done', bytes: 14, path: received },
    { id: OUT_ID, peer: 'ab'.repeat(32), direction: 'out', name: 'mine.txt', size: 1, state: 'done', bytes: 1 },
    { id: PNG_ID, peer: 'ab'.repeat(32), direction: 'in', name: 'photo.png', size: 16, mime: 'image/png', state: 'done', bytes: 16, path: join(dir, 'photo.png') },
    { id: FAKE_PNG_ID, peer: 'ab'.repeat(32), direction: 'in', name: 'fake.png', size: 38, mime: 'image/png', state: 'done', bytes: 38, path: join(dir, 'fake.png') },
  ];
  server = await startWebServer({ host: new FilesHost(files), port: 0, rendererDir: dir, uploadDir: join(dir, 'outgoing') });
});
afterEach(async () => {
  await server.close();
});

const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;

describe('web file routes', () => {
  it('refuse every request without the right token, and count it', async () => {
    for (const [path, method] of [[`/files/${IN_ID}`, 'GET'], [`/files/${IN_ID}?token=${'0'.repeat(64)}`, 'GET'], ['/upload?name=x', 'POST']] as const) {
      const res = await fetch(url(path), { method, ...(method === 'POST' ? { body: 'evil' } : {}) });
      expect(res.status).toBe(401);
    }
    expect(server.stats().rejected.UNAUTHORIZED).toBe(3);
  });

  it('serve a received, verified file as an attachment, and nothing else', async () => {
    const res = await fetch(url(`/files/${IN_ID}?token=${server.token}`));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('verified bytes');
    expect(res.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''report.pdf");
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect((await fetch(url(`/files/${OUT_ID}?token=${server.token}`))).status).toBe(404);
    expect((await fetch(url(`/files/${'3'.repeat(32)}?token=${server.token}`))).status).toBe(404);
  });

  it('serve an image inline for its thumbnail only when its bytes are that image', async () => {
    const png = await fetch(url(`/files/${PNG_ID}?token=${server.token}`));
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(png.headers.get('content-disposition')).toMatch(/^inline;/);
    // Offered as image/png, but HTML inside: downloaded, never shown inline.
    const fake = await fetch(url(`/files/${FAKE_PNG_ID}?token=${server.token}`));
    expect(fake.headers.get('content-type')).toBe('application/octet-stream');
    expect(fake.headers.get('content-disposition')).toMatch(/^attachment;/);
  });

  it('store an upload under a sanitized name inside the upload folder', async () => {
    const res = await fetch(url(`/upload?token=${server.token}&name=${encodeURIComponent('../../etc/passwd')}`), { method: 'POST', body: 'hello' });
    expect(res.status).toBe(200);
    const { path } = (await res.json()) as { path: string };
    expect(dirname(dirname(path))).toBe(join(dir, 'outgoing'));
    expect(path.endsWith('/passwd')).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('hello');
  });
});
