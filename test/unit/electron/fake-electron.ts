/**
 * Stand-in for the `electron` module, whose binary is not installed here (the one mock the
 * project allows). It records what the glue asks of Electron so tests can check the wiring.
 */
type Handler = (...args: never[]) => unknown;

export interface FakeWindow {
  options: { webPreferences?: Record<string, unknown> } & Record<string, unknown>;
  loadedFile: string | null;
  contentsHandlers: Map<string, Handler>;
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null;
  sent: Array<{ channel: string; args: unknown[] }>;
}

export function createFakeElectron() {
  const log: string[] = [];
  const appHandlers = new Map<string, Handler[]>();
  const ipcHandlers = new Map<string, Handler>();
  const windows: FakeWindow[] = [];
  const exposed = new Map<string, unknown>();
  const rendererListeners = new Map<string, Handler>();
  const invoked: Array<{ channel: string; args: unknown[] }> = [];
  let invokeReply: unknown = { ok: true, result: null };
  let openPathError = '';
  let userData = '/default/user-data';
  /** Set by connectRenderer: ipcRenderer.invoke then reaches ipcMain's handler as our page would. */
  let routedPage: string | null = null;
  /** What webUtils.getPathForFile answers for a File (a dropped file on disk); '' for others. */
  const filePaths = new WeakMap<object, string>();

  class BrowserWindow {
    readonly state: FakeWindow;
    readonly webContents: Record<string, unknown>;
    constructor(options: FakeWindow['options']) {
      this.state = { options, loadedFile: null, contentsHandlers: new Map(), windowOpenHandler: null, sent: [] };
      windows.push(this.state);
      log.push('BrowserWindow');
      const state = this.state;
      this.webContents = {
        on: (event: string, handler: Handler) => { state.contentsHandlers.set(event, handler); },
        setWindowOpenHandler: (handler: FakeWindow['windowOpenHandler']) => { state.windowOpenHandler = handler; },
        send: (channel: string, ...args: unknown[]) => { state.sent.push({ channel, args }); },
      };
    }
    static getAllWindows(): BrowserWindow[] { return instances; }
    once(): void {}
    on(): void {}
    show(): void {}
    focus(): void {}
    restore(): void {}
    isMinimized(): boolean { return false; }
    isDestroyed(): boolean { return false; }
    async loadFile(file: string): Promise<void> { this.state.loadedFile = file; }
  }
  const instances: BrowserWindow[] = [];
  const TrackedWindow = new Proxy(BrowserWindow, {
    construct(target, args: [FakeWindow['options']]) {
      const w = new target(...args);
      instances.push(w);
      return w;
    },
  });

  const module = {
    app: {
      setPath: (name: string, value: string) => { log.push(`setPath:${name}`); if (name === 'userData') userData = value; },
      getPath: (name: string) => (name === 'userData' ? userData : `/fake/${name}`),
      requestSingleInstanceLock: () => { log.push('requestSingleInstanceLock'); return true; },
      whenReady: () => Promise.resolve(),
      on: (event: string, handler: Handler) => { appHandlers.set(event, [...(appHandlers.get(event) ?? []), handler]); },
      quit: () => { log.push('quit'); },
      exit: (code: number) => { log.push(`exit:${code}`); },
    },
    BrowserWindow: TrackedWindow,
    dialog: { showErrorBox: (title: string, body: string) => { log.push(`error:${title}:${body}`); } },
    shell: {
      openExternal: async (url: string) => { log.push(`openExternal:${url}`); },
      openPath: async (path: string) => { log.push(`openPath:${path}`); return openPathError; },
      showItemInFolder: (path: string) => { log.push(`showItemInFolder:${path}`); },
    },
    session: {
      defaultSession: {
        webRequest: { onHeadersReceived: () => { log.push('csp-header'); } },
        setPermissionRequestHandler: () => { log.push('permission-request-handler'); },
        setPermissionCheckHandler: () => { log.push('permission-check-handler'); },
      },
    },
    ipcMain: {
      handle: (channel: string, handler: Handler) => { ipcHandlers.set(channel, handler); },
      removeHandler: (channel: string) => { ipcHandlers.delete(channel); },
    },
    safeStorage: {
      isEncryptionAvailable: () => false,
      getSelectedStorageBackend: () => 'basic_text',
      encryptString: (s: string) => Buffer.from(s),
      decryptString: (b: Buffer) => b.toString(),
    },
    contextBridge: { exposeInMainWorld: (key: string, value: unknown) => { exposed.set(key, value); } },
    ipcRenderer: {
      invoke: async (channel: string, ...args: unknown[]) => {
        invoked.push({ channel, args });
        if (routedPage === null) return invokeReply;
        const handler = ipcHandlers.get(channel) as ((event: unknown, ...a: unknown[]) => Promise<unknown>) | undefined;
        if (!handler) throw new Error(`Error invoking remote method '${channel}': Error: No handler registered for '${channel}'`);
        // Electron's IPC copies arguments and replies with the structured clone algorithm.
        return structuredClone(await handler({ senderFrame: { url: routedPage, parent: null } }, ...structuredClone(args)));
      },
      on: (channel: string, handler: Handler) => { rendererListeners.set(channel, handler); },
    },
    webUtils: {
      getPathForFile: (file: unknown) => {
        if (!(file instanceof File)) throw new TypeError('getPathForFile: the argument is not a File');
        return filePaths.get(file) ?? '';
      },
    },
  };

  /**
   * Joins the preload to the main process as one page would be: the preload's invoke reaches the
   * ipcMain handler with `pageUrl` as its sender frame, and the returned window's webContents.send
   * reaches the preload's listeners, both through a structured clone like Electron's IPC.
   */
  const connectRenderer = (pageUrl: string) => {
    routedPage = pageUrl;
    return {
      isDestroyed: () => false,
      webContents: {
        send: (channel: string, ...args: unknown[]) => {
          const listener = rendererListeners.get(channel) as ((event: unknown, ...a: unknown[]) => void) | undefined;
          listener?.({}, ...structuredClone(args));
        },
      },
    };
  };

  return {
    module,
    log,
    appHandlers,
    ipcHandlers,
    windows,
    exposed,
    rendererListeners,
    invoked,
    setInvokeReply: (reply: unknown) => { invokeReply = reply; },
    connectRenderer,
    /** Makes `file` look like one the user dropped from disk at `path`. */
    setFilePath: (file: File, path: string) => { filePaths.set(file, path); },
    /** What shell.openPath answers ('' = opened). */
    setOpenPathError: (error: string) => { openPathError = error; },
  };
}

export type FakeElectron = ReturnType<typeof createFakeElectron>;
