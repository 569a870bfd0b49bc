/**
 * Web mode: serves the built renderer over loopback HTTP and the ParleyApi contract over a
 * token-guarded WebSocket at /api. The browser page is untrusted exactly like an Electron
 * renderer, so every frame is validated with parseApiCall before it reaches the host.
 *
 * Wire format (JSON text frames):
 *   client → server  {id, call, args}
 *   server → client  {id, ok: true, result} | {id, ok: false, error: {code, message}}
 *   server → client  {event, payload}
 * except for file-channel bytes, the one hot path, which travel as binary frames with a small
 * header (src/shared/bridge-binary.ts): the call `mesh.report {kind:'file.data'}` from the client
 * (answered by a JSON reply like any call) and the event `mesh.command {op:'file.data'}` from the
 * server. Any other binary frame is refused (BINARY) and counted.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  API_EVENT_NAMES, describeUntrusted, parseApiCall,
  type ApiArgs, type ApiCall, type ApiEventName, type ApiEvents, type ApiResults,
} from '../../shared/api';
import { BRIDGE_COMMAND, BRIDGE_REPORT, decodeBridgeFrame, encodeBridgeFrame } from '../../shared/bridge-binary';
import { SECURITY_HEADERS, serveStatic } from './static';
import { isFileRoute, serveFileRoute } from './file-routes';

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
  /** Where files the page uploads for sending are kept (web mode: <profile>/outgoing); unset = no uploads. */
  uploadDir?: string;
  /** Called for every rejected connection or frame, e.g. to log it. */
  onReject?: (code: WebRejectCode, reason: string) => void;
}

export type WebRejectCode =
  | 'UNAUTHORIZED' | 'BAD_ORIGIN' | 'BAD_HOST' | 'BAD_JSON' | 'SCHEMA' | 'OVERSIZE' | 'BINARY'
  | 'UNKNOWN_CALL' | 'BAD_ARGS' | 'BUSY' | 'HOST_ERROR' | 'SLOW_CONSUMER' | 'PROTOCOL' | 'INTERNAL';

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
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS }).end('Forbidden: open the URL printed by `parley web`.\n');
      return;
    }
    const reqUrl = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (isFileRoute(reqUrl.pathname)) {
      if (!timingSafeEqual(sha256(reqUrl.searchParams.get('token') ?? ''), tokenDigest)) {
        reject('UNAUTHORIZED', `file route ${reqUrl.pathname.slice(0, 48)} without the token`);
        res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS }).end('Unauthorized\n');
        return;
      }
      serveFileRoute(req, res, reqUrl, options.host, options.uploadDir, SECURITY_HEADERS).catch(() => {
        if (!res.headersSent) res.writeHead(500, SECURITY_HEADERS).end();
        else res.destroy();
      });
      return;
    }
    serveStatic(options.rendererDir, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, SECURITY_HEADERS).end();
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

    /** One writer for text and binary frames: a page that stops reading is closed, not buffered for. */
    const write = (data: string | Uint8Array): void => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        reject('SLOW_CONSUMER', `${ws.bufferedAmount} bytes buffered`);
        ws.close(CLOSE_SLOW_CONSUMER, 'not reading fast enough');
        return;
      }
      ws.send(data, { binary: typeof data !== 'string' });
    };
    const send = (frame: unknown): void => write(encodeFrame(frame));
    const sendBytes = (bytes: Uint8Array): void => write(bytes);
    const fail = (id: WireId, code: WebRejectCode, message: string): void => {
      reject(code, message);
      send({ id, ok: false, error: { code, message } });
    };

    const unsubscribers = API_EVENT_NAMES.map((event) =>
      options.host.on(event, (payload) => {
        const cmd = payload as ApiEvents['mesh.command'];
        if (event === 'mesh.command' && cmd.op === 'file.data') {
          sendBytes(encodeBridgeFrame({ kind: BRIDGE_COMMAND, id: 0, session: cmd.session, cid: cmd.cid, data: cmd.data }));
        } else {
          send({ event, payload });
        }
      }));

    /** Handles one frame; returns the id it was for, once known, so a failure can name it. */
    const onFrame = (data: RawData, isBinary: boolean, answered: { id: WireId; done: boolean }): void => {
      const answer = (code: WebRejectCode, message: string): void => {
        answered.done = true;
        fail(answered.id, code, message);
      };
      let frame: DecodedFrame;
      if (isBinary) {
        // Only file-channel bytes travel binary; the decoder checks the header and the size cap.
        const bin = decodeBridgeFrame(rawBytes(data), BRIDGE_REPORT);
        if (!bin.ok) return answer('BINARY', bin.reason);
        frame = { ok: true, id: bin.id, call: 'mesh.report', args: { kind: 'file.data', session: bin.session, cid: bin.cid, data: bin.data } };
      } else {
        const bytes = rawLength(data);
        if (bytes > maxFrameBytes) return answer('OVERSIZE', `frame of ${bytes} bytes exceeds ${maxFrameBytes}`);
        frame = decodeFrame(rawToString(data));
      }
      answered.id = frame.id;
      if (!frame.ok) return answer(frame.code, frame.message);
      const parsed = parseApiCall(frame.call, frame.args);
      if (!parsed.ok) return answer(parsed.code, parsed.message);
      if (inFlight >= MAX_IN_FLIGHT_PER_CONNECTION) return answer('BUSY', `more than ${MAX_IN_FLIGHT_PER_CONNECTION} calls in flight; wait for replies`);
      answered.done = true;
      inFlight++;
      stats.calls++;
      Promise.resolve().then(() => options.host.handle(parsed.call, parsed.args)).then(
        (result) => send({ id: frame.id, ok: true, result }),
        (err: unknown) => {
          const { code, message } = describeHostError(err);
          reject('HOST_ERROR', message);
          send({ id: frame.id, ok: false, error: { code, message } });
        },
      ).catch((err: unknown) => {
        reject('INTERNAL', `reply failed: ${describeHostError(err).message}`);
      }).finally(() => { inFlight--; });
    };

    // Total: no frame, however odd, may throw out of here (an uncaught exception would end web
    // mode and the embedded broker it hosts). Each frame gets exactly one reply.
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const answered: { id: WireId; done: boolean } = { id: null, done: false };
      try {
        onFrame(data, isBinary, answered);
      } catch (err) {
        if (!answered.done) fail(answered.id, 'INTERNAL', `the frame could not be handled: ${describeHostError(err).message.slice(0, 200)}`);
        else reject('INTERNAL', describeHostError(err).message.slice(0, 200));
      }
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
  return { code: 'HOST_ERROR', message: describeUntrusted(err) };
}

/** Results come from trusted code, but a value JSON cannot carry must not take the server down. */
function encodeFrame(frame: unknown): string {
  try {
    return JSON.stringify(frame);
  } catch (err) {
    const id = typeof frame === 'object' && frame !== null && 'id' in frame ? (frame as { id: unknown }).id : null;
    return JSON.stringify({ id: typeof id === 'string' || typeof id === 'number' ? id : null, ok: false, error: { code: 'INTERNAL', message: `the reply could not be encoded: ${(err as Error).message}` } });
  }
}

function rawLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function rawBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
