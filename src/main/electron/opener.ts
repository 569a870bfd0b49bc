/**
 * Open / Show in folder for received files, through Electron's shell. The host has already turned
 * the renderer's transfer id into the path of a verified file inside the downloads folder
 * (FileTransfers.completedPath); the renderer never names a path.
 */
import { shell } from 'electron';
import type { FileOpener } from '../host/files/opener';

export const shellOpener: FileOpener = {
  open: (path) => shell.openPath(path),
  show: (path) => shell.showItemInFolder(path),
};
