/**
 * Open / Show in folder (issue 9): the renderer names a transfer id, never a path. Through the
 * real bindIpc and the real host (profile, SQLite store, FileTransfers.completedPath) with
 * Electron's shell mocked (its binary is absent here): only a received, verified file that is
 * still inside the downloads folder reaches shell.openPath / shell.showItemInFolder.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FakeElectron } from './fake-electron';
import type { HostApi } from '../../../src/main/host/host';
import type { FileTransferRow } from '../../../src/main/store/types';

const fake = vi.hoisted(() => ({ current: null as FakeElectron | null }));
vi.mock('electron', async () => {
  const { createFakeElectron: create } = await import('./fake-electron');
  fake.current = create();
  return fake.current.module;
});

const PAGE = 'file:///opt/parley/renderer/index.html';
const fromPage = { senderFrame: { url: PAGE, parent: null } };
const profile = mkdtempSync(join(tmpdir(), 'parley-file-open-'));
const outside = mkdtempSync(join(tmpdir(), 'parley-file-open-outside-'));
const downloads = join(profile, 'downloads');
type Reply = { ok: boolean; result?: unknown; error?: { code: string; message: string } };
type Handler = (event: unknown, call: unknown, args: unknown) => Promise<Reply>;
let host: HostApi;
let handler: Handler;
const ids = {
  photo: 'a'.repeat(32), outside: 'b'.repeat(32), sent: 'c'.repeat(32), partial: 'd'.repeat(32),
  gone: 'e'.repeat(32), link: 'f'.repeat(32), unknown: '0'.repeat(32),
};

function row(id: string, patch: Partial<FileTransferRow>): Omit<FileTransferRow, 'createdAt' | 'updatedAt'> {
  return {
    id, peer: '1'.repeat(64), direction: 'in', name: 'photo.jpg', mime: 'image/jpeg', size: 3, sha256: '2'.repeat(64), chunkSize: 65536,
    chunksSha256: '3'.repeat(64), chunkHashes: null, state: 'done', verified: null, bytes: 3, sourcePath: null, sourceMtime: null,
    path: null, reason: null, thumb: null, ...patch,
  };
}

beforeAll(async () => {
  mkdirSync(downloads, { recursive: true });
  writeFileSync(join(downloads, 'photo.jpg'), 'jpg');
  writeFileSync(join(outside, 'secret.txt'), 'secret');
  symlinkSync(join(outside, 'secret.txt'), join(downloads, 'link.txt'));
  // The store the host will open, filled the way finished transfers leave it.
  const { openStore } = await import('../../../src/main/store');
  const store = openStore(join(profile, 'parley.db'));
  store.insertTransfer(row(ids.photo, { path: join(downloads, 'photo.jpg') }));
  store.insertTransfer(row(ids.outside, { path: join(outside, 'secret.txt') }));
  store.insertTransfer(row(ids.sent, { direction: 'out', sourcePath: join(outside, 'secret.txt'), path: join(outside, 'secret.txt') }));
  store.insertTransfer(row(ids.partial, { state: 'transferring', path: join(downloads, 'photo.jpg') }));
  store.insertTransfer(row(ids.gone, { path: join(downloads, 'deleted.bin') }));
  store.insertTransfer(row(ids.link, { path: join(downloads, 'link.txt') }));
  store.close();
  const { startHost } = await import('../../../src/main/host/host');
  const { bindIpc } = await import('../../../src/main/electron/ipc');
  const { shellOpener } = await import('../../../src/main/electron/opener');
  host = await startHost({ profileDir: profile, brokerUrl: 'mqtt://127.0.0.1:9', opener: shellOpener });
  bindIpc(host, PAGE, () => []);
  handler = fake.current!.ipcHandlers.get('parley:call') as Handler;
}, 60_000);

afterAll(async () => {
  await host?.close();
  rmSync(profile, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

const shellCalls = (): string[] => fake.current!.log.filter((l) => l.startsWith('openPath:') || l.startsWith('showItemInFolder:'));

describe('Open / Show in folder over IPC', () => {
  it('opens and shows a received file in the downloads folder, by id', async () => {
    expect(await handler(fromPage, 'file.open', { id: ids.photo })).toEqual({ ok: true, result: { ok: true } });
    expect(await handler(fromPage, 'file.show', { id: ids.photo })).toEqual({ ok: true, result: { ok: true } });
    const real = realpathSync(join(downloads, 'photo.jpg'));
    expect(shellCalls()).toEqual([`openPath:${real}`, `showItemInFolder:${real}`]);
  });

  it('refuses everything else with a reason, and never reaches the shell', async () => {
    const before = shellCalls().length;
    const cases: [string, unknown, string][] = [
      ['file.open', { id: ids.outside }, 'OUTSIDE_DOWNLOADS'],
      ['file.show', { id: ids.link }, 'OUTSIDE_DOWNLOADS'], // a symlink in downloads pointing out of it
      ['file.open', { id: ids.sent }, 'NOT_RECEIVED'],
      ['file.open', { id: ids.partial }, 'NOT_RECEIVED'],
      ['file.open', { id: ids.gone }, 'FILE_GONE'],
      ['file.open', { id: ids.unknown }, 'NO_SUCH_TRANSFER'],
      ['file.open', { path: '/etc/passwd' }, 'BAD_ARGS'],
      ['file.open', { id: ids.photo, path: '/etc/passwd' }, 'BAD_ARGS'],
      ['file.show', { id: '../../etc/passwd' }, 'BAD_ARGS'],
    ];
    for (const [call, args, code] of cases) {
      const reply = await handler(fromPage, call, args);
      expect(reply.ok, `${call} ${JSON.stringify(args)}`).toBe(false);
      expect(reply.error?.code, `${call} ${JSON.stringify(args)}`).toBe(code);
      expect(reply.error?.message.length).toBeGreaterThan(10);
    }
    expect(shellCalls().length).toBe(before);
    // From another frame it is refused before the host is asked.
    expect(await handler({ senderFrame: { url: 'https://evil.example/', parent: null } }, 'file.open', { id: ids.photo }))
      .toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    expect(shellCalls().length).toBe(before);
  });

  it('says what to do when the OS cannot open the file', async () => {
    fake.current!.setOpenPathError('No application is registered for this file type');
    const reply = await handler(fromPage, 'file.open', { id: ids.photo });
    fake.current!.setOpenPathError('');
    expect(reply).toMatchObject({ ok: false, error: { code: 'OPEN_FAILED' } });
    expect(reply.error?.message).toMatch(/No application.*Show in folder/);
  });
});

describe('without a shell (headless, web mode)', () => {
  it('file.open answers NOT_AVAILABLE and points at the download link', async () => {
    const { startHost } = await import('../../../src/main/host/host');
    const other = mkdtempSync(join(tmpdir(), 'parley-file-open-web-'));
    const web = await startHost({ profileDir: other, brokerUrl: 'mqtt://127.0.0.1:9' });
    try {
      await expect(web.handle('file.open', { id: ids.photo })).rejects.toMatchObject({ code: 'NOT_AVAILABLE', message: expect.stringMatching(/Download link/) });
    } finally {
      await web.close();
      rmSync(other, { recursive: true, force: true });
    }
  }, 60_000);
});
