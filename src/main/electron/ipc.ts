/**
 * The one IPC channel between renderer and host. The renderer is untrusted: the sender frame
 * and every argument are checked before the host sees them, and replies are plain data.
 */
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import { API_EVENT_NAMES, describeUntrusted, parseApiCall, type ApiArgs, type ApiCall, type ApiEventName, type ApiEvents, type ApiResults } from '../../shared/api';
import { isTrustedSender } from './sender';

export const CALL_CHANNEL = 'parley:call';
export const EVENT_CHANNEL = 'parley:event';

export interface IpcHost {
  handle<C extends ApiCall>(call: C, args: ApiArgs<C>): Promise<ApiResults[C]>;
  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
}

export type IpcReply = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

export interface IpcBinding {
  rejected(): Record<string, number>;
  dispose(): void;
}

export function bindIpc(host: IpcHost, appPageUrl: string, windows: () => BrowserWindow[]): IpcBinding {
  const rejected: Record<string, number> = {};
  const refuse = (code: string, message: string): IpcReply => {
    rejected[code] = (rejected[code] ?? 0) + 1;
    return { ok: false, error: { code, message } };
  };

  const answer = async (event: IpcMainInvokeEvent, call: unknown, args: unknown): Promise<IpcReply> => {
    const frame = event.senderFrame;
    if (!isTrustedSender(frame?.url, frame !== null && frame !== undefined && frame.parent === null, appPageUrl)) {
      return refuse('UNAUTHORIZED', 'calls are accepted only from the Parley window');
    }
    const parsed = parseApiCall(call, args);
    if (!parsed.ok) return refuse(parsed.code, parsed.message);
    try {
      return { ok: true, result: await host.handle(parsed.call, parsed.args) };
    } catch (err) {
      const code: unknown = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
      return refuse(typeof code === 'string' && code ? code : 'HOST_ERROR', err instanceof Error ? err.message : describeUntrusted(err));
    }
  };
  // Total: whatever the renderer sends, it gets one typed reply, never a thrown error.
  ipcMain.handle(CALL_CHANNEL, async (event: IpcMainInvokeEvent, call: unknown, args: unknown): Promise<IpcReply> => {
    try {
      return await answer(event, call, args);
    } catch (err) {
      return refuse('INTERNAL', `the call could not be handled: ${err instanceof Error ? err.message.slice(0, 200) : describeUntrusted(err)}`);
    }
  });

  const unsubscribers = API_EVENT_NAMES.map((name) => host.on(name, (payload) => {
    for (const win of windows()) {
      if (!win.isDestroyed()) win.webContents.send(EVENT_CHANNEL, name, payload);
    }
  }));

  return {
    rejected: () => ({ ...rejected }),
    dispose() {
      ipcMain.removeHandler(CALL_CHANNEL);
      for (const off of unsubscribers) off();
    },
  };
}
