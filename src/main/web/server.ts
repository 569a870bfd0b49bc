/**
 * Web mode: serves the built renderer over loopback HTTP and the ParleyApi contract over a
 * token-guarded WebSocket at /api. The browser page is untrusted exactly like an Electron
 * renderer, so every frame is validated with parseApiCall before it reaches the host.
 *
 * Wire format (JSON text frames):
 *   client → server  {id, call, args}
 *   server → client  {id, ok: true, result} | {id, ok: false, error: {code, message}}
 *   server → client  {event, payload}
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  API_EVENT_NAMES, parseApiCall,
  type ApiArgs, type ApiCall, type ApiEventName, type ApiEvents, type ApiResults,
} from '../../shared/api';
import { serveStatic } from './static';

/** The part of the lead's HostApi that web mode needs (structural, so any HostApi fits). */
export interface ApiHost {
  handle<C extends ApiCall>(call: C, args: ApiArgs<C>): Promise<ApiResults[C]>;
  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
}

export interface WebServerOptions {
  host: ApiHost;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Directory holding the built renderer (out/renderer). */
  rendererDir: string;
  /** Frames above this get an OVERSIZE error reply (default 128 KiB). */
  maxFrameBytes?: number;
  /** Called for every rejected connection or frame, e.g. to log it. */
  onReject?: (code: WebRejectCode, reason: string) => void;
}

export type WebRejectCode =
  | 'UNAUTHORIZED' | 'BAD_ORIGIN' | 'BAD_HOST' | 'BAD_JSON' | 'SCHEMA' | 'OVERSIZE' | 'BINARY'
  | 'UNKNOWN_CALL' | 'BAD_ARGS' | 'BUSY' | 'HOST_ERROR' | 'SLOW_CONSUMER' | 'PROTOCOL';

export interface WebServerStats {
  connections: number;
  calls: number;
  rejected: Partial<Record<WebRejectCode, number>>;
}

export interface WebServer {
  url: string;
  token: string;
  port: number;
  stats(): WebServerStats;
  close(): Promise<void>;
}

export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_BAD_ORIGIN = 4403;
export const CLOSE_SLOW_CONSUMER = 4408;

const DEFAULT_MAX_FRAME_BYTES = 128 * 1024;
/** Above this ws drops the connection (1009) without buffering the frame at all. */
const HARD_MAX_PAYLOAD = 1024 * 1024;
const MAX_IN_FLIGHT_PER_CONNECTION = 256;
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const MAX_ID_LENGTH = 64;

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const token = randomBytes(32).toString('hex');
  const tokenDigest = sha256(token);
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const stats: WebServerStats = { connections: 0, calls: 0, rejected: {} };
  const reject = (code: WebRejectCode, reason: string): void => {
    stats.rejected[code] = (stats.rejected[code] ?? 0) + 1;
    options.onReject?.(code, reason);
  };

  let port = 0;
  const allowedHosts = (): Set<string> => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const allowedOrigins = (): Set<string> => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);

  const http: Server = createServer((req, res) => {
    // A page on another site could resolve its own hostname to 127.0.0.1 (DNS rebinding);
    // insisting on our own Host header keeps such pages out.
    if (!allowedHosts().has(req.headers.host ?? '')) {
      reject('BAD_HOST', `host ${String(req.headers.host).slice(0, 80)}`);
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('Forbidden: open the URL printed by `parley web`.\n');
      return;
    }
    serveStatic(options.rendererDir, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  http.on('connection', (socket: Socket) => socket.setNoDelay(true));

  const wss = new WebSocketServer({ noServer: true, maxPayload: HARD_MAX_PAYLOAD });
  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/api' || !allowedHosts().has(req.headers.host ?? '')) {
      reject('BAD_HOST', `upgrade to ${url.pathname} host ${String(req.headers.host).slice(0, 80)}`);
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      // Closing after the handshake (rather than refusing it) lets the page read the close
      // code and tell the user what to do.
      const origin = req.headers.origin;
      if (origin !== undefined && !allowedOrigins().has(origin)) {
        reject('BAD_ORIGIN', `origin ${origin.slice(0, 120)}`);
        ws.close(CLOSE_BAD_ORIGIN, 'origin not allowed');
        return;
      }
      const given = url.searchParams.get('token') ?? '';
      if (!timingSafeEqual(sha256(given), tokenDigest)) {
        reject('UNAUTHORIZED', given ? 'wrong token' : 'missing token');
        ws.close(CLOSE_UNAUTHORIZED, 'invalid token');
        return;
      }
      serveConnection(ws);
    });
  });

  function serveConnection(ws: WebSocket): void {
    stats.connections++;
    (ws as WebSocket & { _socket?: Socket })._socket?.setNoDelay(true);
    let inFlight = 0;

    const send = (frame: unknown): void => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        reject('SLOW_CONSUMER', `${ws.bufferedAmount} bytes buffered`);
        ws.close(CLOSE_SLOW_CONSUMER, 'not reading fast enough');
        return;
      }
      ws.send(JSON.stringify(frame));
    };
    const fail = (id: WireId, code: WebRejectCode, message: string): void => {
      reject(code, message);
      send({ id, ok: false, error: { code, message } });
    };

    const unsubscribers = API_EVENT_NAMES.map((event) =>
      options.host.on(event, (payload) => send({ event, payload })));

    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) return fail(null, 'BINARY', 'binary frames are not accepted; send JSON text');
      const bytes = rawLength(data);
      if (bytes > maxFrameBytes) return fail(null, 'OVERSIZE', `frame of ${bytes} bytes exceeds ${maxFrameBytes}`);
      const frame = decodeFrame(rawToString(data));
      if (!frame.ok) return fail(frame.id, frame.code, frame.message);
      const parsed = parseApiCall(frame.call, frame.args);
      if (!parsed.ok) return fail(frame.id, parsed.code, parsed.message);
      if (inFlight >= MAX_IN_FLIGHT_PER_CONNECTION) return fail(frame.id, 'BUSY', `more than ${MAX_IN_FLIGHT_PER_CONNECTION} calls in flight; wait for replies`);
      inFlight++;
      stats.calls++;
      options.host.handle(parsed.call, parsed.args).then(
        (result) => send({ id: frame.id, ok: true, result }),
        (err: unknown) => {
          const { code, message } = describeHostError(err);
          reject('HOST_ERROR', message);
          send({ id: frame.id, ok: false, error: { code, message } });
        },
      ).finally(() => { inFlight--; });
    });
    // ws reports frames it refuses to even read (over the hard limit, bad UTF-8, bad opcode) here
    // and closes the connection itself.
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') reject('OVERSIZE', `frame above the hard limit of ${HARD_MAX_PAYLOAD} bytes`);
      else reject('PROTOCOL', `${err.code ?? 'ws error'}: ${err.message.slice(0, 120)}`);
      ws.terminate();
    });
    ws.on('close', () => {
      stats.connections--;
      for (const off of unsubscribers) off();
    });
  }

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  port = (http.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/#token=${token}`,
    token,
    port,
    stats: () => ({ ...stats, rejected: { ...stats.rejected } }),
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

type WireId = string | number | null;
type DecodedFrame =
  | { ok: true; id: WireId; call: unknown; args: unknown }
  | { ok: false; id: WireId; code: 'BAD_JSON' | 'SCHEMA'; message: string };

function decodeFrame(text: string): DecodedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, id: null, code: 'BAD_JSON', message: `frame is not JSON: ${(err as Error).message.slice(0, 120)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, id: null, code: 'SCHEMA', message: 'frame must be an object {id, call, args}' };
  }
  const { id, call, args } = value as Record<string, unknown>;
  const validId = (typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH) || (typeof id === 'number' && Number.isSafeInteger(id));
  if (!validId) {
    return { ok: false, id: null, code: 'SCHEMA', message: `id must be a string of 1-${MAX_ID_LENGTH} characters or an integer` };
  }
  return { ok: true, id: id as string | number, call, args };
}

function describeHostError(err: unknown): { code: string; message: string } {
  if (err instanceof Error) {
    const code = (err as Error & { code?: unknown }).code;
    return { code: typeof code === 'string' && code ? code : 'HOST_ERROR', message: err.message || 'the host failed without a message' };
  }
  return { code: 'HOST_ERROR', message: String(err) };
}

function rawLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
