/**
 * Files in Electron mode, end to end in Node: the real host behind the real bindIpc, the real
 * preload, and the renderer's own mesh bridge and files store on top of the preload's
 * `window.parley` (@roamhq/wrtc standing in for the page's WebRTC; the stand-in for the absent
 * Electron binary routes ipcRenderer.invoke to ipcMain's handler and webContents.send to the
 * preload, through a structured clone as Electron's IPC does). The peer is a real headless process.
 *
 * What the UI needs to show an image thumbnail (issue 9: "images show a thumbnail in the chat")
 * must arrive in the renderer's files store: the offer's `thumb` as a data URL the offer card will
 * put in an <img> (isThumbUrl), on the `file` event and from files.list. And a file the user drops
 * or picks must be sendable: Electron's File has no path, so the preload's pathForFile names it.
 */
import wrtc from '@roamhq/wrtc';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FakeElectron } from './fake-electron';
import type { FileInfo, ParleyApi } from '../../../src/shared/api';
import type { HostApi } from '../../../src/main/host/host';
import type { MeshBridge } from '../../../src/renderer/mesh-bridge';
import type { FilesStore } from '../../../src/renderer/state/files';
import type { PreloadBridge } from '../../../src/renderer/api/client';
import { isThumbUrl } from '../../../src/renderer/thumbnail';
import { MOSQUITTO_URL } from '../../helpers/brokers';
import { HeadlessPeer, tempProfile, waitConnected } from '../../helpers/headless-peer';
import { fileEvent, makePng, randomFile, settled, sha256OfFile } from '../../integration/files/support';

const fake = vi.hoisted(() => ({ current: null as FakeElectron | null }));
vi.mock('electron', async () => {
  const { createFakeElectron: create } = await import('./fake-electron');
  fake.current = create();
  return fake.current.module;
});

const RTC = wrtc.RTCPeerConnection as unknown as typeof RTCPeerConnection;
const PAGE = 'file:///opt/parley/out/renderer/index.html';
const WAIT = { timeout: 90_000, interval: 100 };
const work = mkdtempSync(join(tmpdir(), 'parley-electron-files-'));
let host: HostApi;
let bridge: PreloadBridge;
let api: ParleyApi;
let mesh: MeshBridge;
let files: FilesStore;
let bob: HeadlessPeer;
const uiErrors: string[] = [];

/** The renderer's view of one transfer, once it satisfies `check`. */
async function inUi(id: string, check: (f: FileInfo) => boolean): Promise<FileInfo> {
  return vi.waitFor(() => {
    const f = files.getState().byId[id];
    if (!f || !check(f)) throw new Error(`renderer has ${JSON.stringify(f)?.slice(0, 300)}`);
    return f;
  }, WAIT);
}

beforeAll(async () => {
  const { startHost } = await import('../../../src/main/host/host');
  const { bindIpc } = await import('../../../src/main/electron/ipc');
  const { shellOpener } = await import('../../../src/main/electron/opener');
  host = await startHost({ profileDir: tempProfile('electron-erin'), name: 'Erin', brokerUrl: MOSQUITTO_URL, opener: shellOpener });
  const window = fake.current!.connectRenderer(PAGE);
  bindIpc(host, PAGE, () => [window] as never);
  await import('../../../src/preload/index');
  bridge = fake.current!.exposed.get('parley') as PreloadBridge;
  const { wrapPreloadBridge, pathOfFiles } = await import('../../../src/renderer/api/client');
  const { createFilesStore } = await import('../../../src/renderer/state/files');
  const { startMeshBridge } = await import('../../../src/renderer/mesh-bridge');
  api = wrapPreloadBridge(bridge);
  files = createFilesStore(api, { token: null, pathOf: pathOfFiles(bridge) }, (text) => uiErrors.push(text));
  mesh = await startMeshBridge(api, () => {}, RTC);

  bob = await HeadlessPeer.start({ profile: tempProfile('electron-bob'), name: 'Bob', broker: MOSQUITTO_URL });
  await bob.signalingUp();
  await vi.waitFor(async () => {
    if ((await api.call('status', {})).signaling !== 'connected') throw new Error('Electron host not on signaling yet');
  }, WAIT);
  await api.call('contacts.add', { userId: bob.userId, name: 'Bob' });
  await bob.waitFor((l) => l.event === 'contactRequest' && l.userId === host.userId, 60_000);
  await bob.ok({ op: 'contact.accept', userId: host.userId });
  await waitConnected(bob, host.userId, 90_000);
}, 180_000);

afterAll(async () => {
  mesh?.stop();
  await bob?.quit();
  await host?.close();
});

describe('image thumbnails reach the Electron renderer', () => {
  it('an offered image arrives in the files store with a thumbnail the offer card shows, on the event and from files.list, before and after accepting', { timeout: 180_000 }, async () => {
    const png = makePng(40, 30);
    const path = join(work, 'holiday.png');
    writeFileSync(path, png);
    const expected = `data:image/png;base64,${png.toString('base64')}`;
    const { id } = await bob.ok({ op: 'file.send', to: host.userId, path }, 60_000);

    const offered = await inUi(String(id), (f) => f.state === 'offered');
    expect(offered).toMatchObject({ direction: 'in', name: 'holiday.png', mime: 'image/png', size: png.length, thumb: expected });
    expect(isThumbUrl(offered.thumb)).toBe(true);

    // A chat opened later loads it over parley:call (files.list) with the thumbnail.
    const listed = await api.call('files.list', { with: bob.userId });
    expect(listed.find((f) => f.id === id)?.thumb).toBe(expected);

    // Accepted from the UI: done keeps the thumbnail, the bytes crossed the renderer bridge intact.
    await files.getState().accept(String(id));
    const done = await inUi(String(id), (f) => f.state === 'done' || f.state === 'failed');
    expect(done).toMatchObject({ state: 'done', bytes: png.length, thumb: expected });
    expect(readFileSync(done.path!)).toEqual(png);
    expect((await settled(bob, String(id))).state).toBe('done');
    expect(uiErrors).toEqual([]);
  });
});

describe('received images without a preview in their offer', () => {
  it('an image too large to be its own thumbnail is shown whole once verified (file.preview over the IPC); a fake one gets none', { timeout: 180_000 }, async () => {
    const png = makePng(120, 90);
    expect(png.length).toBeGreaterThan(16 * 1024);
    const path = join(work, 'large.png');
    writeFileSync(path, png);
    const { id } = await bob.ok({ op: 'file.send', to: host.userId, path }, 60_000);
    const offered = await inUi(String(id), (f) => f.state === 'offered');
    expect(offered.thumb).toBeUndefined();
    // Not before it is received and verified.
    await expect(api.call('file.preview', { id: String(id) })).rejects.toMatchObject({ code: 'NOT_RECEIVED' });
    await files.getState().accept(String(id));
    await inUi(String(id), (f) => f.state === 'done');
    // What the offer card asks for when it shows a done image without a download URL.
    await files.getState().loadPreview(String(id));
    const url = await vi.waitFor(() => {
      const u = files.getState().previews[String(id)];
      if (!u) throw new Error('no preview yet');
      return u;
    }, WAIT);
    expect(url).toBe(`data:image/png;base64,${png.toString('base64')}`);

    // Named .png and offered as image/png, but HTML inside: no preview, in the host and in the UI.
    const fake = join(work, 'fake.png');
    writeFileSync(fake, '<html><script>alert(1)</script></html>');
    const { id: fakeId } = await bob.ok({ op: 'file.send', to: host.userId, path: fake }, 60_000);
    await inUi(String(fakeId), (f) => f.state === 'offered' && f.mime === 'image/png');
    await files.getState().accept(String(fakeId));
    await inUi(String(fakeId), (f) => f.state === 'done');
    await expect(api.call('file.preview', { id: String(fakeId) })).rejects.toMatchObject({ code: 'NOT_AN_IMAGE' });
    await files.getState().loadPreview(String(fakeId));
    expect(files.getState().previews[String(fakeId)]).toBe('');
    await expect(api.call('file.preview', { id: '0'.repeat(32) })).rejects.toMatchObject({ code: 'NO_SUCH_TRANSFER' });
    await expect(api.call('file.preview', { id: '../../etc/passwd' } as never)).rejects.toMatchObject({ code: 'BAD_ARGS' });
  });
});

describe('sending from the Electron UI', () => {
  it('a dropped image is sent by its path on disk; the recipient sees its thumbnail with the offer', { timeout: 180_000 }, async () => {
    const png = makePng(32, 24);
    const path = join(work, 'dropped.png');
    writeFileSync(path, png);
    const file = new File([new Uint8Array(png)], 'dropped.png', { type: 'image/png' });
    fake.current!.setFilePath(file, path);
    expect(bridge.pathForFile?.(file)).toBe(path);

    await files.getState().send(bob.userId, file);
    expect(uiErrors).toEqual([]);
    const offer = await bob.waitFor((l) => l.event === 'file' && l.state === 'offered' && l.name === 'dropped.png', 60_000);
    expect(offer).toMatchObject({ peer: host.userId, size: png.length, mime: 'image/png', thumb: `data:image/png;base64,${png.toString('base64')}` });
    await inUi(String(offer.id), (f) => f.direction === 'out' && f.state === 'offered' && f.thumb === offer.thumb);
    await bob.ok({ op: 'file.accept', id: offer.id });
    const got = await settled(bob, String(offer.id));
    expect(got.state).toBe('done');
    expect(await sha256OfFile(String(got.path))).toBe(await sha256OfFile(path));
    await inUi(String(offer.id), (f) => f.state === 'done');
  });

  it('a preview the renderer made crosses the IPC with file.send and is the one the recipient sees', { timeout: 120_000 }, async () => {
    // Too big to be its own preview: without the UI's thumbnail the offer would carry none.
    const big = makePng(120, 90);
    expect(big.length).toBeGreaterThan(16 * 1024);
    const path = join(work, 'big.png');
    writeFileSync(path, big);
    const preview = makePng(16, 12).toString('base64');
    const { id } = await api.call('file.send', { to: bob.userId, path, thumb: preview });
    expect((await fileEvent(bob, id, 'offered', 60_000)).thumb).toBe(`data:image/png;base64,${preview}`);
    await bob.ok({ op: 'file.decline', id });
    expect((await inUi(id, (f) => f.state === 'failed')).reason).toMatch(/declined/i);
  });

  it('a file that is not on disk (made in the page) is refused in the UI with what to do, and nothing is offered', async () => {
    const before = bob.lines.filter((l) => l.event === 'file' && l.state === 'offered').length;
    const errors = uiErrors.length;
    await files.getState().send(bob.userId, new File([new Uint8Array(10)], 'from-a-web-page.txt'));
    expect(uiErrors.slice(errors)).toEqual([expect.stringMatching(/^Could not send from-a-web-page\.txt: it is not a file on this computer.*Save it first/)]);
    expect(bridge.pathForFile?.({ not: 'a file' } as unknown as File)).toBe('');
    expect(bob.lines.filter((l) => l.event === 'file' && l.state === 'offered').length).toBe(before);
  });
});

describe('file settings from the Electron UI', () => {
  it('a downloads folder and a size cap saved over the IPC apply to the next offers at once', { timeout: 180_000 }, async () => {
    const folder = join(work, 'my downloads');
    const saved = await api.call('settings.update', { downloadsDir: folder, maxFileBytes: 1024 * 1024 });
    expect(saved).toMatchObject({ downloadsDir: folder, maxFileBytes: 1024 * 1024 });

    const over = randomFile(work, 'over.bin', 1024 * 1024 + 1);
    const { id: refused } = await bob.ok({ op: 'file.send', to: host.userId, path: over }, 60_000);
    expect((await inUi(String(refused), (f) => f.state === 'failed')).reason).toMatch(/over your limit of 1\.0 MiB \(Settings\)/);
    expect((await settled(bob, String(refused))).reason).toMatch(/limit/);

    const under = randomFile(work, 'under.bin', 1024 * 1024);
    const { id } = await bob.ok({ op: 'file.send', to: host.userId, path: under }, 60_000);
    await inUi(String(id), (f) => f.state === 'offered');
    await files.getState().accept(String(id));
    const done = await inUi(String(id), (f) => f.state === 'done' || f.state === 'failed');
    expect(done).toMatchObject({ state: 'done', path: join(folder, 'under.bin') });
    expect(await sha256OfFile(done.path!)).toBe(await sha256OfFile(under));
  });
});

