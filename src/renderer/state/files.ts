/**
 * File transfers as the UI sees them: every `file` event, plus files.list when a chat opens.
 * Kept apart from the main UI store; only this module and the file components know about it.
 */
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { FileInfo, ParleyApi } from '../../shared/api';
import { isImageDataUrl, makeThumbnail } from '../thumbnail';

export interface FilesState {
  byId: Record<string, FileInfo>;
  /** Web mode: the API token, for the upload and download URLs of the web server. */
  token: string | null;
  load(peer: string): Promise<void>;
  /** Offers a dropped or picked file: web mode uploads it to the host first; Electron names its path on disk. */
  send(to: string, file: File): Promise<void>;
  accept(id: string): Promise<void>;
  decline(id: string): Promise<void>;
  cancel(id: string): Promise<void>;
  /** Desktop: open a received file, or show it in its folder (the host finds it by id). */
  open(id: string): Promise<void>;
  show(id: string): Promise<void>;
  /** Where a received file can be fetched (web mode), or null. */
  downloadUrl(id: string): string | null;
  /** Electron: received images without a preview in their offer, shown whole (file.preview), by id. */
  previews: Record<string, string>;
  loadPreview(id: string): Promise<void>;
}

export type FilesStore = StoreApi<FilesState>;

export interface FileSource {
  /** Web mode: the API token, for the upload and download routes. */
  token: string | null;
  /** Electron: the path on disk of a dropped or picked File ('' if it has none). */
  pathOf: ((file: File) => string) | null;
}

export function createFilesStore(api: ParleyApi, { token, pathOf }: FileSource, onError: (text: string) => void): FilesStore {
  const store = createStore<FilesState>()((set, get) => ({
    byId: {},
    token,
    async load(peer) {
      try {
        const list = await api.call('files.list', { with: peer, limit: 200 });
        set((s) => ({ byId: { ...Object.fromEntries(list.map((f) => [f.id, f])), ...s.byId } }));
      } catch (err) {
        onError(`Could not load files: ${(err as Error).message}`);
      }
    },
    async send(to, file) {
      if (!token && !pathOf) {
        onError('This window cannot send files; in a headless peer use {"op":"file.send"}.');
        return;
      }
      try {
        let path: string;
        if (token) {
          const res = await fetch(`/upload?token=${encodeURIComponent(token)}&name=${encodeURIComponent(file.name)}`, { method: 'POST', body: file });
          const body = (await res.json()) as { path?: string; error?: string };
          if (!res.ok || !body.path) throw new Error(body.error ?? `upload failed (${res.status})`);
          path = body.path;
        } else {
          path = pathOf!(file);
          if (!path) throw new Error('it is not a file on this computer (dragged from a web page?). Save it first, then drop or pick the saved file');
        }
        const thumb = await makeThumbnail(file);
        await api.call('file.send', { to, path, ...(thumb ? { thumb } : {}) });
      } catch (err) {
        onError(`Could not send ${file.name}: ${(err as Error).message}`);
      }
    },
    async accept(id) {
      await api.call('file.accept', { id }).catch((err: Error) => onError(err.message));
    },
    async decline(id) {
      await api.call('file.decline', { id }).catch((err: Error) => onError(err.message));
    },
    async cancel(id) {
      await api.call('file.cancel', { id }).catch((err: Error) => onError(err.message));
    },
    async open(id) {
      await api.call('file.open', { id }).catch((err: Error) => onError(err.message));
    },
    async show(id) {
      await api.call('file.show', { id }).catch((err: Error) => onError(err.message));
    },
    downloadUrl(id) {
      return token ? `/files/${id}?token=${encodeURIComponent(token)}` : null;
    },
    previews: {},
    async loadPreview(id) {
      if (get().previews[id] !== undefined) return;
      set((s) => ({ previews: { ...s.previews, [id]: '' } })); // asked once; '' until it arrives, or for none
      // Best effort: a file that is not an image by its bytes, too large, or gone just has no preview.
      const res = await api.call('file.preview', { id }).catch(() => null);
      if (res && isImageDataUrl(res.url)) set((s) => ({ previews: { ...s.previews, [id]: res.url } }));
    },
  }));
  api.on('file', (f) => store.setState((s) => ({ byId: { ...s.byId, [f.id]: { ...s.byId[f.id], ...f } } })));
  return store;
}

export const FilesContext = createContext<FilesStore | null>(null);

export function useFiles<T>(selector: (state: FilesState) => T): T {
  const store = useContext(FilesContext);
  if (!store) throw new Error('useFiles outside <FilesContext.Provider>');
  return useStore(store, selector);
}
