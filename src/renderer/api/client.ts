/**
 * Picks the ParleyApi implementation for where the UI runs: the preload's `window.parley` in
 * Electron, or the token-guarded WebSocket in web mode.
 */
import type { ApiArgs, ApiCall, ApiEventName, ApiEvents, ApiResults, ParleyApi } from '../../shared/api';
import { ApiError } from './errors';
import { createWebSocketApi, type TransportState } from './ws-client';

/** What the preload exposes (src/preload/index.ts). Its errors arrive as "CODE: message". */
export interface PreloadBridge {
  call(call: string, args: unknown): Promise<unknown>;
  on(event: string, listener: (payload: unknown) => void): () => void;
  /** Where a dropped or picked File is on disk ('' if it is not on disk). */
  pathForFile?(file: File): string;
}

declare global {
  interface Window { parley?: PreloadBridge }
}

export interface UiClient {
  api: ParleyApi;
  mode: 'electron' | 'web';
  /** Electron: the disk path of a dropped or picked File ('' if it has none); null in web mode, which uploads. */
  pathOf: ((file: File) => string) | null;
  onTransport(listener: (state: TransportState) => void): () => void;
  transport(): TransportState;
}

const TOKEN_KEY = 'parley.token';

export function chooseClient(): UiClient {
  const bridge = window.parley;
  if (bridge) {
    return {
      api: wrapPreloadBridge(bridge),
      mode: 'electron',
      pathOf: pathOfFiles(bridge),
      onTransport: () => () => {},
      transport: () => ({ state: 'open' }),
    };
  }
  if (location.protocol === 'file:') return brokenBridge();
  const token = takeToken();
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api?token=${encodeURIComponent(token)}`;
  const ws = createWebSocketApi({ url });
  return { api: ws, mode: 'web', pathOf: null, onTransport: ws.onTransport, transport: ws.transport };
}

/** Loaded from disk without the preload: nothing can reach the host, so say so instead of retrying. */
function brokenBridge(): UiClient {
  const reason = 'The Parley window started without its bridge to the app (preload script missing). Reinstall Parley or rebuild it with "npm run build".';
  return {
    api: {
      call: () => Promise.reject(new ApiError('NO_BRIDGE', reason)),
      on: () => () => {},
    },
    mode: 'electron',
    pathOf: null,
    onTransport: () => () => {},
    transport: () => ({ state: 'rejected', reason }),
  };
}

/**
 * Reads the token from `#token=…`, then removes it from the address bar (so it does not end
 * up in screenshots or shared links) and keeps it for reloads of this tab only.
 */
function takeToken(): string {
  const fromHash = new URLSearchParams(location.hash.replace(/^#/, '')).get('token');
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, '', location.pathname + location.search);
    return fromHash;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

/** The preload's pathForFile, or null for a preload too old to have it. */
export function pathOfFiles(bridge: PreloadBridge): ((file: File) => string) | null {
  const pathForFile = bridge.pathForFile;
  return typeof pathForFile === 'function' ? (file) => String(pathForFile(file) ?? '') : null;
}

export function wrapPreloadBridge(bridge: PreloadBridge): ParleyApi {
  return {
    async call<C extends ApiCall>(call: C, args: ApiArgs<C>): Promise<ApiResults[C]> {
      try {
        return (await bridge.call(call, args)) as ApiResults[C];
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err);
        // Electron prefixes "Error invoking remote method 'parley:call': Error: ".
        const match = /^(?:.*?Error: )?([A-Z][A-Z0-9_]+): (.*)$/s.exec(text);
        throw match ? new ApiError(match[1] ?? 'ERROR', match[2] ?? text) : new ApiError('ERROR', text);
      }
    },
    on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
      return bridge.on(event, listener as (payload: unknown) => void);
    },
  };
}
