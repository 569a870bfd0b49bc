/**
 * Sandboxed preload: exposes exactly `window.parley = {call, on, pathForFile}` and nothing else.
 * Call and event names are allow-listed from the contract; arguments are checked again in main.
 * `pathForFile` is how a dropped or picked file is sent: Electron's File objects no longer carry a
 * path, and only the preload may ask webUtils for it.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import { API_EVENT_NAMES, apiArgs } from '../shared/api';

const CALL_CHANNEL = 'parley:call';
const EVENT_CHANNEL = 'parley:event';
const CALLS: ReadonlySet<string> = new Set(Object.keys(apiArgs));
const EVENTS: ReadonlySet<string> = new Set(API_EVENT_NAMES);

type Listener = (payload: unknown) => void;
const listeners = new Map<string, Set<Listener>>();

ipcRenderer.on(EVENT_CHANNEL, (_event: IpcRendererEvent, name: unknown, payload: unknown) => {
  if (typeof name !== 'string') return;
  for (const listener of listeners.get(name) ?? []) listener(payload);
});

type Reply = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

contextBridge.exposeInMainWorld('parley', {
  async call(call: unknown, args: unknown): Promise<unknown> {
    if (typeof call !== 'string' || !CALLS.has(call)) throw new Error(`UNKNOWN_CALL: unknown call ${String(call).slice(0, 60)}`);
    const reply = (await ipcRenderer.invoke(CALL_CHANNEL, call, args)) as Reply;
    // Only an Error's message crosses the context bridge, so the code travels inside it.
    if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
    return reply.result;
  },
  on(event: unknown, listener: unknown): () => void {
    if (typeof event !== 'string' || !EVENTS.has(event)) throw new Error(`UNKNOWN_EVENT: unknown event ${String(event).slice(0, 60)}`);
    if (typeof listener !== 'function') throw new Error('BAD_ARGS: listener must be a function');
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    const l = listener as Listener;
    set.add(l);
    return () => { set.delete(l); };
  },
  /** Where a File the user dropped or picked is on disk; '' for one made in the page, or not a File. */
  pathForFile(file: unknown): string {
    try {
      return webUtils.getPathForFile(file as File);
    } catch {
      return '';
    }
  },
});
