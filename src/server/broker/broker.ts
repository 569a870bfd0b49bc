import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { Aedes, type AuthenticateError, type Client, type ConnectPacket } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { Duplex } from 'node:stream';
import type { Signer } from '../../shared/crypto';
import { nodeSigner } from '../../main/crypto/node-signer';
import { verifyLogin } from '../../main/signaling/mqtt-login';
import { checkPublish, checkSubscribe, MAX_PUBLISH_BYTES } from './acl';
import { guardPacketSize } from './packet-size-guard';
import { TokenBucket, type RateLimit } from './token-bucket';

export type RefusalKind = 'login' | 'subscribe' | 'publish' | 'rateLimit';

export interface Refusal {
  kind: RefusalKind;
  reason: string;
  clientId: string;
  at: number;
}

export interface BrokerStats {
  connectedClients: number;
  logins: number;
  published: number;
  refused: Record<RefusalKind, number>;
  recentRefusals: readonly Refusal[];
}

export interface BrokerOptions {
  tcpPort?: number;
  wsPort?: number;
  host?: string;
  signer?: Signer;
  /** Per-client publish limit. Default: bursts of 200, 100 messages/s sustained. */
  rateLimit?: RateLimit;
  now?: () => number;
  onRefusal?: (refusal: Refusal) => void;
}

export interface BrokerHandle {
  mqttUrl: string;
  wsUrl: string;
  tcpPort: number;
  wsPort: number;
  stats(): BrokerStats;
  /** The aedes instance, for diagnostics and tests (e.g. observing publishes). */
  aedes: Aedes;
  close(): Promise<void>;
}

const DEFAULT_RATE_LIMIT: RateLimit = { burst: 200, perSecond: 100 };
/** A 64 KiB payload plus topic and header; anything declaring more is cut off at its header. */
const MAX_PACKET_BYTES = MAX_PUBLISH_BYTES + 4096;
/** One frame may carry several packets; larger frames are refused by ws before they are buffered. */
const WS_MAX_FRAME_BYTES = 1024 * 1024;
const KEEP_RECENT_REFUSALS = 50;

type Will = NonNullable<ConnectPacket['will']>;

/**
 * Embedded MQTT broker for `parley server`: aedes with TCP and WebSocket listeners.
 * Sessions, subscriptions, retained messages and wills live in aedes' in-memory persistence, so
 * persistent sessions survive client reconnects but not a broker restart; a deployment that needs
 * more uses Mosquitto/EMQX (DESIGN section 11).
 */
export async function startBroker(options: BrokerOptions = {}): Promise<BrokerHandle> {
  const host = options.host ?? '127.0.0.1';
  const signer = options.signer ?? nodeSigner;
  const rateLimit = options.rateLimit ?? DEFAULT_RATE_LIMIT;
  const now = options.now ?? Date.now;

  const userByClient = new WeakMap<Client, string>();
  const willByClient = new WeakMap<Client, Will>();
  const bucketByClient = new WeakMap<Client, TokenBucket>();
  const refused: Record<RefusalKind, number> = { login: 0, subscribe: 0, publish: 0, rateLimit: 0 };
  const recentRefusals: Refusal[] = [];
  let logins = 0;
  let published = 0;

  function refuse(kind: RefusalKind, reason: string, client: Client | null, peer?: string): void {
    refused[kind]++;
    const refusal: Refusal = { kind, reason, clientId: client?.id ?? peer ?? '', at: now() };
    recentRefusals.push(refusal);
    if (recentRefusals.length > KEEP_RECENT_REFUSALS) recentRefusals.shift();
    options.onRefusal?.(refusal);
  }

  const aedes = await Aedes.createBroker({
    // Wills are checked in authenticate; remember them here because aedes does not pass the packet on.
    preConnect(client, packet, callback) {
      if (packet.will) willByClient.set(client, packet.will);
      callback(null, true);
    },
    authenticate(client, username, password, callback) {
      const verdict = verifyLogin(username, client.id, password, signer, now());
      if (!verdict.ok) {
        refuse('login', verdict.reason, client);
        return callback(authError(4, verdict.reason), false);
      }
      const will = willByClient.get(client);
      if (will) {
        const willVerdict = checkPublish(username!, will.topic, will.payload.length, will.retain === true);
        if (!willVerdict.ok) {
          refuse('login', `will refused: ${willVerdict.reason}`, client);
          return callback(authError(5, `will refused: ${willVerdict.reason}`), false);
        }
      }
      logins++;
      userByClient.set(client, username!);
      bucketByClient.set(client, new TokenBucket(rateLimit, now()));
      callback(null, true);
    },
    authorizeSubscribe(client, subscription, callback) {
      const userId = userByClient.get(client);
      const verdict = userId ? checkSubscribe(userId, subscription.topic) : { ok: false as const, reason: 'not logged in' };
      if (!verdict.ok) {
        refuse('subscribe', verdict.reason, client);
        // A negated subscription answers SUBACK 0x80 instead of dropping the connection.
        return callback(null, null);
      }
      callback(null, subscription);
    },
    authorizePublish(client, packet, callback) {
      // client is null only for a will left over from before a restart; it was checked at connect.
      if (!client) return callback(null);
      const userId = userByClient.get(client);
      if (!userId) {
        refuse('publish', 'not logged in', client);
        return callback(new Error('not logged in'));
      }
      const payloadBytes = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length;
      const verdict = checkPublish(userId, packet.topic, payloadBytes, packet.retain);
      if (!verdict.ok) {
        refuse('publish', verdict.reason, client);
        // MQTT 3.1.1 has no negative PUBACK: the broker must drop the connection (MQTT-3.3.5-2).
        return callback(new Error(verdict.reason));
      }
      const isWill = willByClient.get(client) === packet;
      if (!isWill && !bucketByClient.get(client)?.take(now())) {
        refuse('rateLimit', `over ${rateLimit.perSecond} msg/s (burst ${rateLimit.burst})`, client);
        // The unacknowledged message stays in the client's store and is resent after it reconnects.
        return callback(new Error('publish rate limit exceeded'));
      }
      published++;
      callback(null);
    },
  });

  function guard(stream: Duplex, peer: string): void {
    guardPacketSize(stream, MAX_PACKET_BYTES, (declared) => {
      refuse('publish', `packet of ${declared} B exceeds ${MAX_PACKET_BYTES} B (connection closed)`, null, peer);
      stream.destroy();
    });
  }

  const sockets = new Set<Socket>();
  const tcpServer = createTcpServer((socket) => {
    socket.setNoDelay(true);
    track(sockets, socket);
    guard(socket, `${socket.remoteAddress}:${socket.remotePort}`);
    aedes.handle(socket);
  });
  const httpServer = createHttpServer();
  httpServer.on('connection', (socket: Socket) => {
    socket.setNoDelay(true);
    track(sockets, socket);
  });
  const wss = new WebSocketServer({ server: httpServer, maxPayload: WS_MAX_FRAME_BYTES });
  wss.on('connection', (ws, request) => {
    const peer = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
    ws.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') refuse('publish', `WebSocket frame over ${WS_MAX_FRAME_BYTES} B (connection closed)`, null, peer);
    });
    const stream = createWebSocketStream(ws);
    stream.on('error', () => ws.terminate());
    guard(stream, peer);
    aedes.handle(stream, request);
  });

  try {
    await listen(tcpServer, options.tcpPort ?? 0, host);
    await listen(httpServer, options.wsPort ?? 0, host);
  } catch (error) {
    await closeAll(aedes, tcpServer, httpServer, wss, sockets);
    throw error;
  }
  const tcpPort = (tcpServer.address() as AddressInfo).port;
  const wsPort = (httpServer.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | null = null;
  return {
    mqttUrl: `mqtt://${urlHost}:${tcpPort}`,
    wsUrl: `ws://${urlHost}:${wsPort}/mqtt`,
    tcpPort,
    wsPort,
    aedes,
    stats: () => ({
      connectedClients: aedes.connectedClients,
      logins,
      published,
      refused: { ...refused },
      recentRefusals: [...recentRefusals],
    }),
    close: () => (closing ??= closeAll(aedes, tcpServer, httpServer, wss, sockets)),
  };
}

function authError(returnCode: 4 | 5, reason: string): AuthenticateError {
  return Object.assign(new Error(reason), { returnCode }) as AuthenticateError;
}

function track(sockets: Set<Socket>, socket: Socket): void {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', () => socket.destroy());
}

function listen(server: TcpServer | HttpServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function closeAll(
  aedes: Aedes,
  tcpServer: TcpServer,
  httpServer: HttpServer,
  wss: WebSocketServer,
  sockets: Set<Socket>,
): Promise<void> {
  const serverClosed = (server: TcpServer | HttpServer) =>
    new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  const tcpClosed = serverClosed(tcpServer);
  const httpClosed = serverClosed(httpServer);
  for (const client of wss.clients) client.terminate();
  await new Promise<void>((resolve) => aedes.close(() => resolve()));
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
  await Promise.all([tcpClosed, httpClosed]);
}
