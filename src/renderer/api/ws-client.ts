/**
 * ParleyApi over the web-mode WebSocket (src/main/web/server.ts).
 *   → {id, call, args}   ← {id, ok, result | error}   ← {event, payload}
 * File-channel bytes travel as binary frames instead (src/shared/bridge-binary.ts): the call
 * `mesh.report {kind:'file.data'}` out, the event `mesh.command {op:'file.data'}` in. A binary frame
 * that does not decode is dropped and counted (`stats().rejectedBinary`).
 * Reconnects with backoff after a drop; gives up for good when the server says the token or
 * origin is wrong, because retrying cannot fix that.
 */
import type { ApiArgs, ApiCall, ApiEventName, ApiEvents, ApiResults, ParleyApi } from '../../shared/api';
import { BRIDGE_COMMAND, BRIDGE_REPORT, decodeBridgeFrame, encodeBridgeFrame } from '../../shared/bridge-binary';
import { ApiError } from './errors';

export type TransportState =
  | { state: 'connecting'; attempt: number }
  | { state: 'open' }
  | { state: 'closed'; retryInMs: number; reason: string }
  | { state: 'rejected'; reason: string };

export interface WebSocketApi extends ParleyApi {
  onTransport(listener: (state: TransportState) => void): () => void;
  transport(): TransportState;
  /** Binary frames from the server that did not decode (and were dropped). */
  stats(): { rejectedBinary: number };
  close(): void;
}

/** The subset of the WHATWG WebSocket this client uses (so `ws` can stand in under Node). */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType?: string;
  send(data: string | Uint8Array<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
export type WebSocketCtor = new (url: string) => WebSocketLike;

export interface WebSocketApiOptions {
  url: string;
  WebSocketImpl?: WebSocketCtor;
  callTimeoutMs?: number;
  maxRetryDelayMs?: number;
}

const OPEN = 1;
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_BAD_ORIGIN = 4403;

interface Pending { resolve(value: unknown): void; reject(err: Error): void; timer: ReturnType<typeof setTimeout> }
type AnyListener = (payload: never) => void;

export function createWebSocketApi(options: WebSocketApiOptions): WebSocketApi {
  const Impl = options.WebSocketImpl ?? (globalThis.WebSocket as unknown as WebSocketCtor);
  const callTimeoutMs = options.callTimeoutMs ?? 30_000;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
  const pending = new Map<number, Pending>();
  const queued: (string | Uint8Array<ArrayBuffer>)[] = [];
  let rejectedBinary = 0;
  const listeners = new Map<ApiEventName, Set<AnyListener>>();
  const transportListeners = new Set<(s: TransportState) => void>();
  let current: TransportState = { state: 'connecting', attempt: 0 };
  let socket: WebSocketLike | null = null;
  let nextId = 1;
  let attempt = 0;
  let closedByUser = false;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;

  const setTransport = (state: TransportState): void => {
    current = state;
    for (const l of transportListeners) l(state);
  };

  const failAllPending = (code: string, message: string): void => {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      p.reject(new ApiError(code, message));
      pending.delete(id);
    }
  };

  const connect = (): void => {
    setTransport({ state: 'connecting', attempt });
    const ws = new Impl(options.url);
    ws.binaryType = 'arraybuffer';
    socket = ws;
    ws.onopen = () => {
      attempt = 0;
      setTransport({ state: 'open' });
      for (const frame of queued.splice(0)) ws.send(frame);
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data === 'string') handleFrame(ev.data);
      else handleBinary(ev.data);
    };
    ws.onerror = () => { /* a close event always follows */ };
    ws.onclose = (ev) => {
      socket = null;
      if (closedByUser) return;
      if (ev.code === CLOSE_UNAUTHORIZED || ev.code === CLOSE_BAD_ORIGIN) {
        const reason = ev.code === CLOSE_UNAUTHORIZED
          ? 'The access token in this page\'s address is missing or out of date. Open the exact URL that `parley web` printed (it changes every time the server starts).'
          : 'This page was opened from an address the Parley server does not accept. Open the URL that `parley web` printed.';
        failAllPending('UNAUTHORIZED', reason);
        setTransport({ state: 'rejected', reason });
        return;
      }
      failAllPending('DISCONNECTED', 'Lost the connection to the Parley host; the call was not completed. It will reconnect by itself; try again in a moment.');
      const retryInMs = Math.min(maxRetryDelayMs, 1000 * 2 ** Math.min(attempt, 10));
      attempt++;
      setTransport({ state: 'closed', retryInMs, reason: `connection closed (code ${ev.code})` });
      retryTimer = setTimeout(connect, retryInMs);
    };
  };

  const handleBinary = (data: unknown): void => {
    // By tag: an ArrayBuffer from another realm (ws under a test runner) fails instanceof.
    const bytes = Object.prototype.toString.call(data) === '[object ArrayBuffer]' ? new Uint8Array(data as ArrayBuffer)
      : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
    const f = bytes ? decodeBridgeFrame(bytes, BRIDGE_COMMAND) : null;
    if (!f?.ok) {
      rejectedBinary++;
      return;
    }
    const cmd: ApiEvents['mesh.command'] = { session: f.session, op: 'file.data', cid: f.cid, data: f.data };
    for (const l of listeners.get('mesh.command') ?? []) (l as (p: unknown) => void)(cmd);
  };

  const handleFrame = (text: string): void => {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof frame !== 'object' || frame === null) return;
    const f = frame as Record<string, unknown>;
    if (typeof f.event === 'string') {
      for (const l of listeners.get(f.event as ApiEventName) ?? []) (l as (p: unknown) => void)(f.payload);
      return;
    }
    if (typeof f.id !== 'number') return;
    const p = pending.get(f.id);
    if (!p) return;
    pending.delete(f.id);
    clearTimeout(p.timer);
    if (f.ok === true) {
      p.resolve(f.result);
    } else {
      const error = (typeof f.error === 'object' && f.error !== null ? f.error : {}) as { code?: unknown; message?: unknown };
      p.reject(new ApiError(String(error.code ?? 'ERROR'), String(error.message ?? 'the host rejected the call')));
    }
  };

  connect();

  return {
    call<C extends ApiCall>(call: C, args: ApiArgs<C>): Promise<ApiResults[C]> {
      if (current.state === 'rejected') return Promise.reject(new ApiError('UNAUTHORIZED', current.reason));
      const id = nextId++;
      const a = args as ApiArgs<'mesh.report'>;
      let frame: string | Uint8Array<ArrayBuffer>;
      try {
        frame = call === 'mesh.report' && a.kind === 'file.data'
          ? encodeBridgeFrame({ kind: BRIDGE_REPORT, id, session: a.session, cid: a.cid, data: a.data }) as Uint8Array<ArrayBuffer>
          : JSON.stringify({ id, call, args });
      } catch (err) {
        return Promise.reject(new ApiError('BAD_ARGS', `"${call}" could not be encoded: ${(err as Error).message}`));
      }
      return new Promise<ApiResults[C]>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new ApiError('TIMEOUT', `The host did not answer "${call}" within ${Math.round(callTimeoutMs / 1000)} s. Check that the parley process is still running.`));
        }, callTimeoutMs);
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
        if (socket && socket.readyState === OPEN) socket.send(frame);
        else queued.push(frame);
      });
    },
    on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener as AnyListener);
      return () => { set.delete(listener as AnyListener); };
    },
    onTransport(listener) {
      transportListeners.add(listener);
      return () => { transportListeners.delete(listener); };
    },
    transport: () => current,
    stats: () => ({ rejectedBinary }),
    close() {
      closedByUser = true;
      if (retryTimer) clearTimeout(retryTimer);
      failAllPending('CLOSED', 'the client was closed');
      socket?.close(1000, 'bye');
    },
  };
}
