/**
 * WebSocket signal server (seed 004, DESIGN section 3). A device connects to `/{deviceId}`,
 * proves its userId by signing the server's challenge, and then sends frames that the server
 * forwards by `to` to the device attached under that id. Bodies are sealed envelopes the server
 * never opens. It keeps no state another server needs: routes name the server a device is on.
 *
 * Every refusal is answered with a typed ERROR (or a close code) and counted by reason.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Signer } from '../../shared/crypto';
import { toBase64 } from '../../shared/encoding';
import { DEFAULT_MAX_SKEW_MS } from '../../shared/envelope';
import {
  parseClientFrame, SIGNAL_CLOSE, SIGNAL_LIMITS, SIGNAL_NONCE_BYTES, verifySignalAuth,
  type DeliveredFrame, type ErrorFrame, type RelayFrame, type SignalErrorCode,
} from '../../shared/schemas/signal-ws';
import { nodeSigner } from '../../main/crypto/node-signer';
import { TokenBucket } from '../../shared/rate-limit/token-bucket';

/** Why the server refused a connection or a frame; each is counted. */
export type SignalRefusal =
  | 'BAD_PATH'
  | 'BAD_AUTH'
  | 'AUTH_TIMEOUT'
  | 'DEVICE_TAKEN'
  | 'TOO_MANY_CONNECTIONS'
  | 'NOT_ATTACHED'
  | 'OVERSIZE'
  | 'RATE_LIMITED'
  | 'RECIPIENT_BACKLOG'
  | 'BAD_FRAME'
  | 'ABUSE_CLOSED'
  | 'DEAD_PEER';

export const SIGNAL_REFUSALS: readonly SignalRefusal[] = [
  'BAD_PATH', 'BAD_AUTH', 'AUTH_TIMEOUT', 'DEVICE_TAKEN', 'TOO_MANY_CONNECTIONS', 'NOT_ATTACHED', 'OVERSIZE',
  'RATE_LIMITED', 'RECIPIENT_BACKLOG', 'BAD_FRAME', 'ABUSE_CLOSED', 'DEAD_PEER',
];

export interface SignalRefusalEvent {
  reason: SignalRefusal;
  detail: string;
  address: string;
  deviceId: string | undefined;
  at: number;
}

export interface SignalServerOptions {
  port?: number;
  host?: string;
  /** Serve wss:// with this certificate and key (PEM). */
  tls?: { cert: Buffer | string; key: Buffer | string };
  signer?: Signer;
  maxFrameBytes?: number;
  framesPerSecond?: number;
  frameBurst?: number;
  maxConnectionsPerAddress?: number;
  /** All sockets together, authenticated or not. */
  maxConnections?: number;
  authTimeoutMs?: number;
  pingIntervalMs?: number;
  /** A recipient with more than this many bytes not yet written gets no more frames (the sender hears RECIPIENT_BACKLOG). */
  maxRecipientBufferedBytes?: number;
  /** Typed errors one connection may earn before it is closed for abuse. */
  maxStrikes?: number;
  maxSkewMs?: number;
  now?: () => number;
  onRefusal?: (event: SignalRefusalEvent) => void;
}

export interface SignalServerStats {
  /** Open sockets, authenticated or not. */
  connections: number;
  /** Devices that completed AUTH and are attached now. */
  attached: number;
  authenticated: number;
  forwarded: number;
  refused: Record<SignalRefusal, number>;
  recentRefusals: readonly SignalRefusalEvent[];
}

export interface SignalServerHandle {
  /** `ws://host:port`; a device's signalAddr is this + `/` + deviceId. */
  url: string;
  port: number;
  stats(): SignalServerStats;
  close(): Promise<void>;
}

interface Connection {
  ws: WebSocket;
  address: string;
  deviceId: string;
  nonce: string;
  userId: string | null;
  bucket: TokenBucket;
  strikes: number;
  alive: boolean;
  /** One RATE_LIMITED reply per second at most, so a flood is not echoed back at the same rate. */
  lastRateReplyAt: number;
  authTimer: NodeJS.Timeout | null;
}

const DEVICE_PATH_RE = /^\/([A-Za-z0-9_-]{1,64})$/;
const KEEP_RECENT = 50;
/** Frames above the limit but below this get a typed OVERSIZE reply; ws cuts anything larger with 1009. */
const HARD_FRAME_FACTOR = 4;

export async function startSignalServer(options: SignalServerOptions = {}): Promise<SignalServerHandle> {
  const host = options.host ?? '127.0.0.1';
  const signer = options.signer ?? nodeSigner;
  const now = options.now ?? Date.now;
  const maxFrameBytes = options.maxFrameBytes ?? SIGNAL_LIMITS.maxFrameBytes;
  const rate = { perSecond: options.framesPerSecond ?? SIGNAL_LIMITS.framesPerSecond, burst: options.frameBurst ?? SIGNAL_LIMITS.frameBurst };
  const maxPerAddress = options.maxConnectionsPerAddress ?? SIGNAL_LIMITS.maxConnectionsPerAddress;
  const maxConnections = options.maxConnections ?? 10_000;
  const authTimeoutMs = options.authTimeoutMs ?? SIGNAL_LIMITS.authTimeoutMs;
  const pingIntervalMs = options.pingIntervalMs ?? 30_000;
  const maxRecipientBuffered = options.maxRecipientBufferedBytes ?? 1024 * 1024;
  const maxStrikes = options.maxStrikes ?? 20;
  const maxSkewMs = options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;

  const connections = new Set<Connection>();
  const byAddress = new Map<string, number>();
  const devices = new Map<string, Connection>();
  const refused = Object.fromEntries(SIGNAL_REFUSALS.map((r) => [r, 0])) as Record<SignalRefusal, number>;
  const recentRefusals: SignalRefusalEvent[] = [];
  let authenticated = 0;
  let forwarded = 0;

  function refuse(reason: SignalRefusal, detail: string, address: string, deviceId?: string): void {
    refused[reason]++;
    const event: SignalRefusalEvent = { reason, detail, address, deviceId, at: now() };
    recentRefusals.push(event);
    if (recentRefusals.length > KEEP_RECENT) recentRefusals.shift();
    options.onRefusal?.(event);
  }

  const onPlainRequest: RequestListener = (_req, res) => {
    res.writeHead(426, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'UPGRADE_REQUIRED', reason: 'connect with WebSocket to /{deviceId}' }));
  };
  const http: Server = options.tls
    ? createHttpsServer({ noDelay: true, cert: options.tls.cert, key: options.tls.key }, onPlainRequest)
    : createServer({ noDelay: true }, onPlainRequest);
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxFrameBytes * HARD_FRAME_FACTOR, perMessageDeflate: false });

  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const address = socket.remoteAddress ?? 'unknown';
    socket.setNoDelay(true);
    const match = DEVICE_PATH_RE.exec((req.url ?? '').split('?')[0] ?? '');
    const held = byAddress.get(address) ?? 0;
    // Refusing at the HTTP layer costs nothing; it is kept for floods far past the cap, so that
    // an ordinary client one over the cap still gets the typed close code below.
    if (!match || held >= maxPerAddress * 2 || connections.size >= maxConnections) {
      const reason: SignalRefusal = match ? 'TOO_MANY_CONNECTIONS' : 'BAD_PATH';
      refuse(reason, match ? `${held} sockets from this address` : `path ${JSON.stringify((req.url ?? '').slice(0, 80))}`, address);
      const status = match ? '429 Too Many Requests' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, address, match[1]!));
  });

  function accept(ws: WebSocket, address: string, deviceId: string): void {
    const held = byAddress.get(address) ?? 0;
    byAddress.set(address, held + 1);
    const conn: Connection = {
      ws, address, deviceId, nonce: toBase64(randomBytes(SIGNAL_NONCE_BYTES)), userId: null,
      bucket: new TokenBucket(rate, now()), strikes: 0, alive: true, lastRateReplyAt: -Infinity, authTimer: null,
    };
    connections.add(conn);
    ws.on('close', () => onClose(conn));
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') refuse('OVERSIZE', `frame over ${maxFrameBytes * HARD_FRAME_FACTOR} bytes: closed 1009`, address, deviceId);
      else refuse('BAD_FRAME', `socket error: ${err.message.slice(0, 120)}`, address, deviceId);
    });
    ws.on('pong', () => (conn.alive = true));
    if (held >= maxPerAddress) {
      refuse('TOO_MANY_CONNECTIONS', `more than ${maxPerAddress} connections from this address`, address, deviceId);
      closeWith(conn, SIGNAL_CLOSE.TOO_MANY, { code: 'TOO_MANY_CONNECTIONS', reason: `at most ${maxPerAddress} connections per address` });
      return;
    }
    ws.on('message', (data: RawData) => onMessage(conn, data));
    conn.authTimer = setTimeout(() => {
      if (conn.userId !== null) return;
      refuse('AUTH_TIMEOUT', `no AUTH within ${authTimeoutMs} ms`, address, deviceId);
      closeWith(conn, SIGNAL_CLOSE.BAD_AUTH, { code: 'AUTH_TIMEOUT', reason: `answer the CHALLENGE within ${authTimeoutMs} ms` });
    }, authTimeoutMs);
    send(conn, { type: 'CHALLENGE', nonce: conn.nonce });
  }

  function onClose(conn: Connection): void {
    if (!connections.delete(conn)) return;
    if (conn.authTimer) clearTimeout(conn.authTimer);
    const held = (byAddress.get(conn.address) ?? 1) - 1;
    if (held <= 0) byAddress.delete(conn.address);
    else byAddress.set(conn.address, held);
    if (devices.get(conn.deviceId) === conn) devices.delete(conn.deviceId);
  }

  /** Replies to a socket that stopped reading are dropped, so no peer can make the server buffer for it. */
  function send(conn: Connection, frame: object): boolean {
    if (conn.ws.readyState !== conn.ws.OPEN) return false;
    if (conn.ws.bufferedAmount > maxRecipientBuffered) return false;
    conn.ws.send(JSON.stringify(frame));
    return true;
  }

  function closeWith(conn: Connection, closeCode: number, error: Omit<ErrorFrame, 'type'>): void {
    send(conn, { type: 'ERROR', ...error });
    conn.ws.close(closeCode, error.code);
    // A peer that never answers the close handshake must not hold the socket.
    setTimeout(() => conn.ws.terminate(), 2000).unref();
  }

  /** A typed error the connection survives, until it has earned maxStrikes of them. */
  function strike(conn: Connection, closeCode: number, error: Omit<ErrorFrame, 'type'>): void {
    conn.strikes++;
    if (conn.strikes <= maxStrikes) {
      send(conn, { type: 'ERROR', ...error });
      return;
    }
    refuse('ABUSE_CLOSED', `${conn.strikes} refused frames, last ${error.code}`, conn.address, conn.deviceId);
    closeWith(conn, closeCode, { code: error.code, reason: `${error.reason ?? error.code}; too many refused frames, connection closed` });
  }

  function onMessage(conn: Connection, data: RawData): void {
    conn.alive = true;
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (conn.userId === null) return onAuth(conn, bytes);
    const t = now();
    if (!conn.bucket.take(t)) {
      refuse('RATE_LIMITED', `over ${rate.perSecond} frames/s`, conn.address, conn.deviceId);
      // One reply (and one strike) per second: a flood is contained by the bucket and is not echoed back.
      if (t - conn.lastRateReplyAt < 1000) return;
      conn.lastRateReplyAt = t;
      return strike(conn, SIGNAL_CLOSE.TOO_MANY, { code: 'RATE_LIMITED', reason: `at most ${rate.perSecond} frames/s (burst ${rate.burst})` });
    }
    if (bytes.byteLength > maxFrameBytes) {
      refuse('OVERSIZE', `${bytes.byteLength} bytes`, conn.address, conn.deviceId);
      return strike(conn, SIGNAL_CLOSE.OVERSIZE, { code: 'OVERSIZE', reason: `frame of ${bytes.byteLength} bytes > ${maxFrameBytes}` });
    }
    const parsed = parseClientFrame(bytes, maxFrameBytes);
    if (!parsed.ok || parsed.value.type === 'AUTH') {
      const reason = parsed.ok ? 'already authenticated' : parsed.reason;
      refuse('BAD_FRAME', reason, conn.address, conn.deviceId);
      return strike(conn, SIGNAL_CLOSE.BAD_AUTH, { code: 'BAD_FRAME', reason });
    }
    forward(conn, parsed.value);
  }

  function onAuth(conn: Connection, bytes: Buffer): void {
    const parsed = parseClientFrame(bytes, maxFrameBytes);
    const verified = parsed.ok ? verifySignalAuth(parsed.value, { signer, nonce: conn.nonce, deviceId: conn.deviceId, now: now(), maxSkewMs }) : parsed;
    if (!verified.ok) {
      refuse('BAD_AUTH', verified.reason, conn.address, conn.deviceId);
      closeWith(conn, SIGNAL_CLOSE.BAD_AUTH, { code: 'BAD_AUTH', reason: `${verified.reason}; answer the CHALLENGE with a signed AUTH` });
      return;
    }
    const auth = verified.value;
    const holder = devices.get(conn.deviceId);
    if (holder && holder.userId !== auth.userId) {
      refuse('DEVICE_TAKEN', `deviceId held by ${holder.userId?.slice(0, 12)}…, claimed by ${auth.userId.slice(0, 12)}…`, conn.address, conn.deviceId);
      closeWith(conn, SIGNAL_CLOSE.DEVICE_TAKEN, { code: 'DEVICE_TAKEN', reason: 'this deviceId is attached under another key; pick another deviceId' });
      return;
    }
    if (conn.authTimer) clearTimeout(conn.authTimer);
    conn.authTimer = null;
    conn.userId = auth.userId;
    devices.set(conn.deviceId, conn);
    authenticated++;
    if (holder) {
      // The same key reconnecting (e.g. after a network change) replaces its older connection.
      holder.ws.close(SIGNAL_CLOSE.REPLACED, 'replaced by a newer connection');
      setTimeout(() => holder.ws.terminate(), 2000).unref();
    }
    send(conn, { type: 'READY', userId: auth.userId, deviceId: conn.deviceId });
  }

  function forward(conn: Connection, frame: RelayFrame): void {
    const target = devices.get(frame.to);
    if (!target || target.ws.readyState !== target.ws.OPEN) {
      refuse('NOT_ATTACHED', `target ${frame.to}`, conn.address, conn.deviceId);
      const reply: ErrorFrame = { type: 'ERROR', code: 'NOT_ATTACHED', to: frame.to, ...(frame.ref !== undefined ? { ref: frame.ref } : {}) };
      send(conn, reply);
      return;
    }
    if (target.ws.bufferedAmount > maxRecipientBuffered) {
      refuse('RECIPIENT_BACKLOG', `target ${frame.to} has ${target.ws.bufferedAmount} bytes unsent`, conn.address, conn.deviceId);
      const code: SignalErrorCode = 'RATE_LIMITED';
      send(conn, { type: 'ERROR', code, reason: 'the recipient is not reading; try again later', to: frame.to, ...(frame.ref !== undefined ? { ref: frame.ref } : {}) });
      return;
    }
    const delivered: DeliveredFrame = { type: frame.type, from: conn.deviceId, fromUser: conn.userId!, body: frame.body };
    send(target, delivered);
    forwarded++;
  }

  const pinger = setInterval(() => {
    for (const conn of connections) {
      if (!conn.alive) {
        refuse('DEAD_PEER', `no pong within ${pingIntervalMs} ms`, conn.address, conn.deviceId);
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }, pingIntervalMs);
  pinger.unref();

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  async function stop(): Promise<void> {
    clearInterval(pinger);
    const closed = [...connections].map(
      (conn) =>
        new Promise<void>((resolve) => {
          if (conn.ws.readyState === conn.ws.CLOSED) return resolve();
          conn.ws.once('close', () => resolve());
          conn.ws.close(SIGNAL_CLOSE.GOING_AWAY, 'server stopping');
          setTimeout(() => conn.ws.terminate(), 500).unref();
        }),
    );
    await Promise.all(closed);
    wss.close();
    await new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    });
  }

  let closing: Promise<void> | null = null;
  return {
    url: `${options.tls ? 'wss' : 'ws'}://${urlHost}:${port}`,
    port,
    stats: () => ({
      connections: connections.size,
      attached: devices.size,
      authenticated,
      forwarded,
      refused: { ...refused },
      recentRefusals: [...recentRefusals],
    }),
    close: () => (closing ??= stop()),
  };
}
