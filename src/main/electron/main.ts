/**
 * Electron main: app lifecycle and the thin glue around the host services. The profile is fixed
 * before the single-instance lock, so two profiles can run side by side while a second launch
 * of the same profile just focuses the first window.
 */
import { BrowserWindow, app, dialog } from 'electron';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startHost, type HostApi } from '../host/host';
import { registryClientFactory, wsClientFactory } from '../host/reach-clients';
import { bindIpc, type IpcBinding } from './ipc';
import { shellOpener } from './opener';
import { profileFromArgv } from './profile';
import { safeStorageWrapper } from './secrets';
import { createMainWindow, denyNavigationEverywhere, lockDownSession } from './window';

const here = import.meta.dirname;
const paths = {
  indexHtml: join(here, '../renderer/index.html'),
  preload: join(here, '../preload/index.cjs'),
};

const profile = profileFromArgv(process.argv);
if (profile) app.setPath('userData', profile);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let host: HostApi | null = null;
  let ipc: IpcBinding | null = null;
  let window: BrowserWindow | null = null;

  app.on('second-instance', () => {
    if (!window) return;
    if (window.isMinimized()) window.restore();
    window.focus();
  });

  denyNavigationEverywhere();

  app.whenReady().then(async () => {
    lockDownSession();
    const profileDir = app.getPath('userData');
    // The mesh runs in the renderer (Chromium's WebRTC) and attaches through the preload.
    // Received files go to the OS Downloads folder until the user picks another in Settings.
    host = await startHost({
      profileDir, wrapper: safeStorageWrapper(), wsClientFactory, registryClientFactory, opener: shellOpener, downloadsDir: app.getPath('downloads'),
    });
    ipc = bindIpc(host, pathToFileURL(paths.indexHtml).href, () => BrowserWindow.getAllWindows());
    window = createMainWindow(paths);
    window.on('closed', () => { window = null; });
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) window = createMainWindow(paths);
    });
  }).catch((err: unknown) => {
    dialog.showErrorBox('Parley could not start', `${err instanceof Error ? err.message : String(err)}\n\nProfile: ${app.getPath('userData')}`);
    app.exit(1);
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  let closing = false;
  app.on('will-quit', (event) => {
    if (closing || !host) return;
    // Let the host flush its store and say goodbye on signaling before the process ends.
    event.preventDefault();
    closing = true;
    ipc?.dispose();
    host.close().finally(() => app.quit());
  });
}
