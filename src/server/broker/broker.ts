import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AuthenticateError, type Client, type ConnectPacket } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { Duplex } from 'node:stream';
import type { Signer } from '../../shared/crypto';
import { nodeSigner } from '../../main/crypto/node-signer';
import { LOGIN_MAX_SKEW_MS, verifyLogin } from '../../main/signaling/mqtt-login';
import { ReplayGuard } from '../../shared/replay';
import { checkPublish, checkSubscribe, MAX_PUBLISH_BYTES } from './acl';
import { guardPacketSize } from './packet-size-guard';
import type { RateLimit } from '../../shared/rate-limit/token-bucket';
import { KeyedBuckets } from '../../shared/rate-limit/keyed-buckets';
import { boundOfflineQueues, type QueueLimits, type QueueStats } from './offline-queues';
import { SessionLedger, type SessionLimits } from './session-ledger';
import { memoryBackend, type AedesPersistenceLike, type BrokerPersistence } from './persistence';
import type { TlsServerOptions } from '../tls';

export type RefusalKind =
  | 'login'
  /** A login password that was already used (captured and replayed). */
  | 'replay'
  /** Too many logins of one identity in a short time. */
  | 'connectRate'
  /** A session refused (broker full, identity's sessions all in use) or an old one evicted to make room. */
  | 'session'
  | 'subscribe'
  /** A subscription past the per-session cap. */
  | 'subscriptionCap'
  /** Too many SUBSCRIBE packets from one identity (connection closed). */
  | 'subscribeRate'
  | 'publish'
  | 'rateLimit'
  /** A queued message dropped because a session's queue (or all queues together) hit its cap. */
  | 'queueDrop';

const REFUSAL_KINDS: readonly RefusalKind[] = [
  'login', 'replay', 'connectRate', 'session', 'subscribe', 'subscriptionCap', 'subscribeRate', 'publish', 'rateLimit', 'queueDrop',
];

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
  /** Sessions the broker tracks (persistent ones survive disconnects until they expire). */
  sessions: number;
  persistentSessions: number;
  expiredSessions: number;
  subscriptions: number;
  queues: QueueStats;
}

/** Every cap the broker enforces on what outside input can grow; see DEFAULT_LIMITS. */
export interface BrokerLimits {
  /** Publishes per identity (userId), across all its connections and reconnects. */
  publish: RateLimit;
  /** Logins per identity. */
  connect: RateLimit;
  /** SUBSCRIBE packets per identity. */
  subscribePackets: RateLimit;
  sessions: SessionLimits;
  queues: QueueLimits;
  /** Login passwords remembered to refuse replays (each for the 2-minute validity window). */
  loginReplayEntries: number;
}

export const DEFAULT_LIMITS: BrokerLimits = {
  publish: { burst: 200, perSecond: 100 },
  // Reconnect backoff is 1, 2, 4… s, so an honest client never comes near this.
  connect: { burst: 20, perSecond: 1 },
  // A client subscribes once per connection plus once per contact it starts watching.
  subscribePackets: { burst: 100, perSecond: 10 },
  sessions: { maxSessionsPerUser: 8, maxSessions: 50_000, maxSubscriptionsPerClient: 1_000, idleExpiryMs: 30 * 24 * 3600 * 1000 },
  queues: { maxMessages: 500, maxBytes: 1024 * 1024, maxTotalBytes: 256 * 1024 * 1024 },
  loginReplayEntries: 200_000,
};

export interface BrokerOptions {
  tcpPort?: number;
  wsPort?: number;
  host?: string;
  /** Serve mqtts:// and wss:// instead of mqtt:// and ws:// (src/server/tls.ts loads the files). */
  tls?: TlsServerOptions;
  signer?: Signer;
  /** Per-identity publish limit (same as limits.publish). Default: bursts of 200, 100 messages/s sustained. */
  rateLimit?: RateLimit;
  /** Overrides for the caps in DEFAULT_LIMITS, one group at a time. */
  limits?: Partial<BrokerLimits>;
  now?: () => number;
  onRefusal?: (refusal: Refusal) => void;
  /** Sessions, queues and routing backend (default: in memory). The broker closes it after itself. */
  persistence?: BrokerPersistence;
  /** Plain HTTP requests on the WebSocket port (not upgrades); return true when answered. */
  httpHandler?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export interface BrokerHandle {
  mqttUrl: string;
  wsUrl: string;
  tcpPort: number;
  wsPort: number;
  stats(): BrokerStats;
  /** QoS 1 deliveries stored and not yet acknowledged (since this process started). */
  pendingDeliveries(): number;
  /** The aedes instance, for diagnostics and tests (e.g. observing publishes). */
  aedes: Aedes;
  close(): Promise<void>;
}

/** A 64 KiB payload plus topic and header; anything declaring more is cut off at its header. */
const MAX_PACKET_BYTES = MAX_PUBLISH_BYTES + 4096;
/** One frame may carry several packets; larger frames are refused by ws before they are buffered. */
const WS_MAX_FRAME_BYTES = 1024 * 1024;
const KEEP_RECENT_REFUSALS = 50;
const SUBSCRIBE = 8;

type Will = NonNullable<ConnectPacket['will']>;

/**
 * Embedded MQTT broker for `parley server`: aedes with TCP and WebSocket listeners.
 * Sessions, subscriptions, retained messages and wills live in the given persistence (./persistence:
 * memory, LevelDB on disk, or Redis shared by several broker processes).
 */
export async function startBroker(options: BrokerOptions = {}): Promise<BrokerHandle> {
  const host = options.host ?? '127.0.0.1';
  const signer = options.signer ?? nodeSigner;
  const limits: BrokerLimits = { ...DEFAULT_LIMITS, ...(options.rateLimit ? { publish: options.rateLimit } : {}), ...options.limits };
  const rateLimit = limits.publish;
  const now = options.now ?? Date.now;

  const userByClient = new WeakMap<Client, string>();
  const userByStream = new WeakMap<object, string>();
  const willByClient = new WeakMap<Client, Will>();
  const persistentByClient = new WeakMap<Client, boolean>();
  // Keyed by userId, not connection: reconnecting must not refill anything (finding 6).
  const publishBuckets = new KeyedBuckets(limits.publish);
  const connectBuckets = new KeyedBuckets(limits.connect);
  const subscribeBuckets = new KeyedBuckets(limits.subscribePackets);
  const usedLogins = new ReplayGuard({ windowMs: LOGIN_MAX_SKEW_MS, maxEntries: limits.loginReplayEntries, now });
  const sessions = new SessionLedger(limits.sessions);
  let expiredSessions = 0;
  const refused = Object.fromEntries(REFUSAL_KINDS.map((kind) => [kind, 0])) as Record<RefusalKind, number>;
  const recentRefusals: Refusal[] = [];
  let logins = 0;
  let published = 0;
  const backend = options.persistence ?? (await memoryBackend());

  function refuse(kind: RefusalKind, reason: string, client: Client | null, peer?: string): void {
    refused[kind]++;
    const refusal: Refusal = { kind, reason, clientId: client?.id ?? peer ?? '', at: now() };
    recentRefusals.push(refusal);
    if (recentRefusals.length > KEEP_RECENT_REFUSALS) recentRefusals.shift();
    options.onRefusal?.(refusal);
  }

  const aedes = await Aedes.createBroker({
    ...(backend.persistence ? { persistence: backend.persistence } : {}),
    ...(backend.mq ? { mq: backend.mq } : {}),
    // Wills are checked in authenticate; remember them here because aedes does not pass the packet on.
    preConnect(client, packet, callback) {
      if (packet.will) willByClient.set(client, packet.will);
      persistentByClient.set(client, packet.clean === false);
      callback(null, true);
    },
    authenticate(client, username, password, callback) {
      const at = now();
      const verdict = verifyLogin(username, client.id, password, signer, at);
      if (!verdict.ok) {
        refuse('login', verdict.reason, client);
        return callback(authError(4, verdict.reason), false);
      }
      // The signature covers clientId and ts, so that pair names this password; refused before
      // anything else so a replay cannot take over (kick) the session it was captured from.
      if (usedLogins.seen(`${client.id}\n${verdict.ts}`, verdict.ts)) {
        refuse('replay', 'this login password was already used; sign a fresh one', client);
        return callback(authError(4, 'login password already used'), false);
      }
      if (!connectBuckets.take(username!, at)) {
        const wait = Math.ceil(connectBuckets.waitMs(username!, at) / 1000);
        refuse('connectRate', `over ${limits.connect.perSecond} logins/s (burst ${limits.connect.burst}) for this identity; retry in ${wait} s`, client);
        return callback(authError(5, `too many logins, retry in ${wait} s`), false);
      }
      const will = willByClient.get(client);
      if (will) {
        const willVerdict = checkPublish(username!, will.topic, will.payload.length, will.retain === true);
        if (!willVerdict.ok) {
          refuse('login', `will refused: ${willVerdict.reason}`, client);
          return callback(authError(5, `will refused: ${willVerdict.reason}`), false);
        }
      }
      const admission = sessions.admit(client.id, username!, persistentByClient.get(client) === true, at);
      if (!admission.ok) {
        refuse('session', admission.reason, client);
        return callback(authError(5, admission.reason), false);
      }
      for (const evicted of admission.evict) {
        refuse('session', `least recently used session ${evicted} deleted to make room for ${client.id}`, client);
        void deleteSession(evicted);
      }
      logins++;
      userByClient.set(client, username!);
      userByStream.set(client.conn, username!);
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
      if (!sessions.subscribe(client.id, subscription.topic)) {
        refuse('subscriptionCap', `over ${limits.sessions.maxSubscriptionsPerClient} subscriptions in this session`, client);
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
      if (!isWill && !publishBuckets.take(userId, now())) {
        refuse('rateLimit', `over ${rateLimit.perSecond} msg/s (burst ${rateLimit.burst})`, client);
        // The unacknowledged message stays in the client's store and is resent after it reconnects.
        return callback(new Error('publish rate limit exceeded'));
      }
      published++;
      // aedes names the publisher on a packet only after queuing it; the queue caps need it earlier
      // (offline-queues.ts drops a flooder's messages first). Packet copies this own property.
      (packet as { clientId?: string }).clientId = client.id;
      callback(null);
    },
  });

  const persistence = (aedes as unknown as { persistence: AedesPersistenceLike & { cleanSubscriptions(c: { id: string }): Promise<void> } }).persistence;
  const queues = boundOfflineQueues(
    persistence,
    limits.queues,
    (clientId, reason) => refuse('queueDrop', reason, null, clientId),
    backend.kind === 'memory' ? 'dropOldest' : backend.kind === 'level' ? 'dropOldestWhileOffline' : 'refuseNew',
    (clientId) => (aedes as unknown as { clients: Record<string, unknown> }).clients[clientId] !== undefined,
  );

  async function deleteSession(clientId: string): Promise<void> {
    try {
      await persistence.cleanSubscriptions({ id: clientId }); // also drops its queue (offline-queues.ts)
    } catch {
      // The backend is closing; nothing more to free.
    }
  }

  aedes.on('client', (client) => sessions.connected(client.id, now()));
  aedes.on('clientDisconnect', (client) => sessions.disconnected(client.id, now()));
  aedes.on('unsubscribe', (filters, client) => {
    for (const filter of filters) sessions.unsubscribe(client.id, filter);
  });
  const expiryTimer = setInterval(() => {
    for (const clientId of sessions.expire(now())) {
      expiredSessions++;
      void deleteSession(clientId);
    }
  }, Math.max(50, Math.min(60_000, limits.sessions.idleExpiryMs / 4)));
  expiryTimer.unref();

  function guard(stream: Duplex, peer: string): void {
    guardPacketSize(
      stream,
      MAX_PACKET_BYTES,
      (declared) => {
        refuse('publish', `packet of ${declared} B exceeds ${MAX_PACKET_BYTES} B (connection closed)`, null, peer);
        stream.destroy();
      },
      (type) => {
        if (type !== SUBSCRIBE) return;
        const userId = userByStream.get(stream);
        // Before login aedes itself refuses a SUBSCRIBE; after it, the identity's budget applies.
        if (userId === undefined || subscribeBuckets.take(userId, now())) return;
        refuse('subscribeRate', `over ${limits.subscribePackets.perSecond} SUBSCRIBE/s (burst ${limits.subscribePackets.burst}) for this identity (connection closed)`, null, peer);
        stream.destroy();
      },
    );
  }

  const sockets = new Set<Socket>();
  const onMqttSocket = (socket: Socket): void => {
    socket.setNoDelay(true);
    track(sockets, socket);
    guard(socket, `${socket.remoteAddress}:${socket.remotePort}`);
    aedes.handle(socket);
  };
  const tls = options.tls;
  const onHttpRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (options.httpHandler?.(req, res)) return;
    res.writeHead(426, { 'content-type': 'text/plain' }).end('this port speaks MQTT over WebSocket\n');
  };
  // A TLS handshake that fails (wrong CA, plain MQTT on the TLS port) only ends that socket.
  const tcpServer: TcpServer = tls ? createTlsServer(tls, onMqttSocket).on('tlsClientError', () => undefined) : createTcpServer(onMqttSocket);
  const httpServer: HttpServer | HttpsServer = tls
    ? createHttpsServer(tls, onHttpRequest).on('tlsClientError', () => undefined)
    : createHttpServer(onHttpRequest);
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
    clearInterval(expiryTimer);
    await closeAll(aedes, tcpServer, httpServer, wss, sockets);
    await backend.close();
    throw error;
  }
  const tcpPort = (tcpServer.address() as AddressInfo).port;
  const wsPort = (httpServer.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | null = null;
  return {
    mqttUrl: `${tls ? 'mqtts' : 'mqtt'}://${urlHost}:${tcpPort}`,
    wsUrl: `${tls ? 'wss' : 'ws'}://${urlHost}:${wsPort}/mqtt`,
    tcpPort,
    wsPort,
    aedes,
    stats: () => ({
      connectedClients: aedes.connectedClients,
      logins,
      published,
      refused: { ...refused },
      recentRefusals: [...recentRefusals],
      ...sessions.stats(),
      expiredSessions,
      queues: queues.stats(),
    }),
    // The queue ledger counts what was stored and not yet acknowledged, net of refusals and drops.
    pendingDeliveries: () => queues.stats().queuedMessages,
    close: () => {
      clearInterval(expiryTimer);
      return (closing ??= closeAll(aedes, tcpServer, httpServer, wss, sockets)
        .then(() => queues.drain())
        .finally(() => backend.close()));
    },
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

function listen(server: TcpServer, port: number, host: string): Promise<void> {
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
  httpServer: HttpServer | HttpsServer,
  wss: WebSocketServer,
  sockets: Set<Socket>,
): Promise<void> {
  const serverClosed = (server: TcpServer) =>
    new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  const tcpClosed = serverClosed(tcpServer);
  const httpClosed = serverClosed(httpServer);
  for (const client of wss.clients) client.terminate();
  await new Promise<void>((resolve) => aedes.close(() => resolve()));
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
  await Promise.all([tcpClosed, httpClosed]);
}
