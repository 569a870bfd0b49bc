/**
 * `parley server` (DESIGN sections 10, 11, 13): the MQTT broker plus whichever ServerComponents
 * (signal, registry, mailbox…) were asked for, one JSON ready line on stdout, pino logs on stderr,
 * optional admin listener (/healthz, /metrics), graceful stop on SIGTERM/SIGINT.
 *
 * Everything a component may need reaches it through one ServerContext (bind host, advertised
 * URLs, data folder, TLS files, logger, metrics, the validated config), so adding a server means
 * adding a component, not touching this file.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { startBroker, type BrokerHandle, type RateLimit } from './broker';
import { DataFolderLockedError, levelBackend, memoryBackend, redisBackend, type BrokerPersistence } from './broker/persistence';
import { registerBrokerMetrics } from './broker/metrics';
import { ConfigError, loadConfigFile, LOG_LEVELS, parseConfig, type LogLevel, type ServerConfig } from './config';
import { iceServersFor } from './ice';
import { adminHandler, startAdminServer, type Health } from './ops/admin';
import { createServerLogger, silentLogger, type Logger } from './ops/logger';
import { ServerMetrics } from './ops/metrics';
import { newSecret, proofHandler, writeEmbeddedInfo } from './embedded/proof';
import { migrateLegacyMailbox, type MailboxMigration } from './embedded/migrate-mailbox';
import { loadTlsServerOptions, TlsConfigError } from './tls';

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

export type AdvertisedScheme = 'mqtt' | 'ws' | 'http';

/** What every component is started with, besides its port. */
export interface ServerContext {
  /** Address to bind (`--host`). */
  host: string;
  /** `--public-url`, when given: the address peers are told instead of the bind address. */
  publicUrl: string | undefined;
  /** The URL to give peers for a listener on `port` (announces, PEER_FOUND, the ready line). */
  advertise(scheme: AdvertisedScheme, port: number, path?: string): string;
  dataDir: string | undefined;
  /** Certificate and key (`--tls-cert/--tls-key`), already read. */
  tls: TlsFiles | undefined;
  logger: Logger;
  metrics: ServerMetrics;
  /** The whole validated configuration (flags merged over the file). */
  config: ServerConfig;
  /** ICE servers to hand this user: the configured ones plus fresh TURN credentials. */
  iceServersFor(userId: string): ReturnType<typeof iceServersFor>;
}

export interface ServerComponent {
  /** Key in the ready line, e.g. 'signal', 'registry', 'mailbox'. */
  name: string;
  start(options: { port: number } & ServerContext): Promise<{ url: string; close(): Promise<void> }>;
}

export interface StartServersOptions extends ServerConfig {
  /** Implementations of the other servers, started when their port option is given. */
  components?: ServerComponent[];
  /** Override the broker backend (tests); default: Redis with `redis`, LevelDB with `data`, else memory (the CLI always gives `data`). */
  persistence?: BrokerPersistence;
  rateLimit?: RateLimit;
  logger?: Logger;
}

export interface RunningServers {
  broker: BrokerHandle;
  /** `{ready:true, mqtt, mqttWs, …}` with a URL for each running server. */
  ready: Record<string, unknown>;
  metrics: ServerMetrics;
  /** Stop accepting, close clients (un-acked QoS 1 publishes are resent by them), flush storage. */
  close(): Promise<void>;
}

const COMPONENT_PORTS = ['signal', 'registry', 'mailbox'] as const;

export async function startServers(options: StartServersOptions = {}): Promise<RunningServers> {
  const config = parseConfig(withoutRuntime(options), 'server options');
  const host = config.host ?? '127.0.0.1';
  const logger = options.logger ?? silentLogger();
  const metrics = new ServerMetrics();
  const tls = config.tls ? readTls(config.tls) : undefined;
  const advertise = advertiser(host, config.publicUrl, tls !== undefined, logger);
  const context: ServerContext = {
    host,
    publicUrl: config.publicUrl,
    advertise,
    dataDir: config.data,
    tls,
    logger,
    metrics,
    config,
    iceServersFor: (userId) => iceServersFor(config, userId, Date.now()),
  };

  let draining = false;
  const running: string[] = ['mqtt'];
  const health = (): Health => ({ ok: !draining, state: draining ? 'draining' : 'serving', components: [...running] });
  const admin = adminHandler(metrics, health);

  if (config.embedded && !config.data) throw new ConfigError('--embedded needs --data DIR (where embedded.json goes)');
  const secret = config.embedded ? newSecret() : undefined;
  const proof = secret ? proofHandler(secret) : undefined;
  const httpHandlers = [...(proof ? [proof] : []), ...(config.publicAdmin ? [admin] : [])];
  const persistence = options.persistence ?? (await chooseBackend(config, logger));
  const broker = await startBroker({
    tcpPort: config.mqtt ?? 0,
    wsPort: config.mqttWs ?? 0,
    host,
    persistence,
    ...(tls ? { tls } : {}),
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
    onRefusal: (refusal) => logger.debug({ refusal }, 'broker refused'),
    ...(httpHandlers.length > 0 ? { httpHandler: (req, res) => httpHandlers.some((h) => h(req, res)) } : {}),
  });
  registerBrokerMetrics(broker, metrics, persistence.kind);
  const ready: Record<string, unknown> = {
    ready: true,
    mqtt: advertise('mqtt', broker.tcpPort),
    mqttWs: advertise('ws', broker.wsPort, '/mqtt'),
  };
  const closers: Array<() => Promise<void>> = [() => broker.close()];
  try {
    // After the broker took the data folder's lock, before the mailbox opens DATA/mailbox.
    if (config.embedded && config.data) logMigration(migrateLegacyMailbox(config.data), logger);
    for (const component of options.components ?? []) {
      const port = COMPONENT_PORTS.includes(component.name as (typeof COMPONENT_PORTS)[number])
        ? config[component.name as (typeof COMPONENT_PORTS)[number]]
        : undefined;
      if (port === undefined) continue;
      const started = await component.start({ port, ...context, logger: logger.child({ component: component.name }) });
      ready[component.name] = started.url;
      running.push(component.name);
      closers.push(() => started.close());
    }
    if (config.admin !== undefined) {
      const adminServer = await startAdminServer(admin, config.admin, config.adminHost ?? '127.0.0.1');
      ready.admin = adminServer.url;
      closers.unshift(() => adminServer.close());
    }
  } catch (error) {
    await closeInReverse(closers);
    throw error;
  }
  if (secret && config.data) {
    writeEmbeddedInfo(config.data, { pid: process.pid, mqtt: String(ready.mqtt), mqttWs: String(ready.mqttWs), secret });
  }
  logger.info({ ...ready, backend: persistence.kind }, 'parley server ready');
  let closing: Promise<void> | null = null;
  return {
    broker,
    ready,
    metrics,
    close: () =>
      (closing ??= (async () => {
        draining = true;
        logger.info('stopping: no new connections, closing clients, flushing storage');
        await closeInReverse(closers);
        logger.info('stopped');
      })()),
  };
}

/** `parley server`'s data folder when no --data is given: env PARLEY_SERVER_DATA_DIR, else ~/.parley/server. */
export function defaultServerDataDir(): string {
  return process.env.PARLEY_SERVER_DATA_DIR || join(process.env.HOME || homedir(), '.parley', 'server');
}

function withoutRuntime(options: StartServersOptions): ServerConfig {
  const { components: _c, persistence: _p, rateLimit: _r, logger: _l, ...config } = options;
  return config;
}

async function chooseBackend(config: ServerConfig, logger: Logger): Promise<BrokerPersistence> {
  if (config.redis) return redisBackend({ url: config.redis, ...(config.redisPrefix ? { prefix: config.redisPrefix } : {}) })();
  if (config.data) return levelBackend(join(config.data, 'broker'))();
  logger.warn('no --data folder: broker sessions are kept in memory and lost on restart');
  return memoryBackend();
}

function readTls(files: { cert: string; key: string }): TlsFiles {
  try {
    return loadTlsServerOptions({ certFile: files.cert, keyFile: files.key });
  } catch (err) {
    throw err instanceof TlsConfigError ? new ConfigError(err.message) : err;
  }
}

const SECURE: Record<AdvertisedScheme, string> = { mqtt: 'mqtts', ws: 'wss', http: 'https' };

/**
 * Advertised URLs keep each listener's port and take their host from `--public-url` (and a secure
 * scheme when that URL is https/wss/mqtts or TLS is on). A wildcard bind with no public URL
 * advertises loopback, which only local clients can use; the operator is told so.
 */
function advertiser(host: string, publicUrl: string | undefined, tlsOn: boolean, logger: Logger): ServerContext['advertise'] {
  let name = host;
  let secure = tlsOn;
  if (publicUrl) {
    const url = new URL(publicUrl);
    name = url.hostname;
    secure ||= ['https:', 'wss:', 'mqtts:'].includes(url.protocol);
  } else if (host === '0.0.0.0' || host === '::') {
    name = host === '::' ? '::1' : '127.0.0.1';
    logger.warn(`listening on ${host} without --public-url: the ready line names ${name}; give --public-url so peers on other machines are told a reachable address`);
  }
  const urlHost = name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;
  return (scheme, port, path = '') => `${secure ? SECURE[scheme] : scheme}://${urlHost}:${port}${path}`;
}

function logMigration(m: MailboxMigration, logger: Logger): void {
  if (m.outcome === 'moved') logger.info({ from: m.from, to: m.to }, 'moved the embedded mailbox data of an older Parley into this server\'s folder');
  else if (m.outcome === 'in-use') logger.warn({ from: m.from }, 'an older Parley still serves the old embedded mailbox folder; it is moved on a later start');
  else if (m.outcome === 'kept-both') logger.warn({ from: m.from, to: m.to }, 'old embedded mailbox data left where it is: this server already has its own (two mailbox logs cannot be merged)');
}

async function closeInReverse(closers: Array<() => Promise<void>>): Promise<void> {
  for (const close of [...closers].reverse()) await close().catch(() => undefined);
}

function collectList(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

/** Calls onIdle once no MQTT client has been connected for `idleMs`. */
function watchIdle(servers: RunningServers, idleMs: number, onIdle: () => void): void {
  let idleSince = Date.now();
  const timer = setInterval(() => {
    if (servers.broker.aedes.connectedClients > 0) idleSince = Date.now();
    else if (Date.now() - idleSince >= idleMs) {
      clearInterval(timer);
      onIdle();
    }
  }, Math.min(1000, Math.max(50, idleMs / 4)));
  timer.unref();
}

function parseNonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('must be a port number 0-65535');
  return port;
}

interface ServerCommandOptions {
  config?: string;
  host?: string;
  publicUrl?: string;
  mqtt?: number;
  mqttWs?: number;
  signal?: number;
  registry?: number;
  mailbox?: number;
  network?: string[];
  admin?: number;
  data?: string;
  redis?: string;
  redisPrefix?: string;
  logLevel?: LogLevel;
  tlsCert?: string;
  tlsKey?: string;
  idleExitMs?: number;
  embedded?: boolean;
}

/** Flags win over the config file; both are validated by the same schema. */
export function mergeCommandOptions(opts: ServerCommandOptions): ServerConfig {
  const fromFile = opts.config !== undefined ? loadConfigFile(opts.config) : {};
  const { config: _config, tlsCert, tlsKey, ...flags } = opts;
  const defined = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  const merged: Record<string, unknown> = { ...fromFile, ...defined };
  if (tlsCert !== undefined || tlsKey !== undefined) {
    if (tlsCert === undefined || tlsKey === undefined) throw new ConfigError('--tls-cert and --tls-key go together: give both');
    merged.tls = { cert: tlsCert, key: tlsKey };
  }
  return parseConfig(merged, opts.config ?? 'command line');
}

/** Adds `parley server` to the CLI; prints the ready line and stops cleanly on SIGINT/SIGTERM. */
export function registerServerCommand(program: Command, components: ServerComponent[] = []): Command {
  return program
    .command('server')
    .description('start the Parley servers (MQTT broker, and signal/registry/mailbox when asked) and print one JSON ready line')
    .option('--config <file>', 'JSON or YAML file with any of these settings plus iceServers/turn (flags win)')
    .option('--host <addr>', 'address to listen on (default 127.0.0.1; 0.0.0.0 to serve other machines)')
    .option('--public-url <url>', 'address peers are given (ready line, announces), e.g. wss://chat.example.org')
    .option('--mqtt <port>', 'MQTT TCP port (0 = free port)', parsePort)
    .option('--mqtt-ws <port>', 'MQTT over WebSocket port (0 = free port)', parsePort)
    .option('--signal <port>', 'signaling WebSocket server port', parsePort)
    .option('--registry <port>', 'registry REST server port', parsePort)
    .option('--mailbox <port>', 'mailbox node port', parsePort)
    .option('--network <ids>', 'networks the registry serves (repeatable or comma-separated; default parley)', collectList)
    .option('--admin <port>', 'serve /healthz and /metrics on this port (127.0.0.1; off unless given)', parsePort)
    .option('--data <dir>', 'data folder: broker sessions and queues survive restarts (default ~/.parley/server, or PARLEY_SERVER_DATA_DIR)')
    .option('--redis <url>', 'share sessions and routing with other broker processes through this Redis')
    .option('--redis-prefix <prefix>', 'prefix for Redis keys and channels (default parley:)')
    .addOption(new Option('--log-level <level>', 'log level (JSON logs on stderr)').choices(LOG_LEVELS))
    .option('--tls-cert <file>', 'TLS certificate (PEM)')
    .option('--tls-key <file>', 'TLS private key (PEM)')
    .option('--idle-exit-ms <ms>', 'stop after this long with no client connected (0 = never)', parseNonNegative)
    .addOption(new Option('--embedded', 'run as the app instances\' shared background server (writes DATA/embedded.json)').hideHelp())
    .action(async (opts: ServerCommandOptions) => {
      let config: ServerConfig;
      try {
        config = mergeCommandOptions(opts);
        config.data ??= defaultServerDataDir();
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`parley server: ${err.message}\n`);
        process.exit(err.exitCode);
      }
      const logger = createServerLogger(config.logLevel ?? 'info');
      let servers: RunningServers;
      try {
        servers = await startServers({ ...config, components, logger });
      } catch (err) {
        const code = err instanceof ConfigError || err instanceof DataFolderLockedError ? err.exitCode : 1;
        logger.fatal({ err }, 'parley server could not start');
        process.stderr.write(`parley server: ${(err as Error).message}\n`);
        process.exit(code);
      }
      process.stdout.write(`${JSON.stringify(servers.ready)}\n`);
      const stop = (signal: string): void => {
        logger.info({ signal }, 'signal received');
        void servers.close().finally(() => process.exit(0));
      };
      if (config.idleExitMs) watchIdle(servers, config.idleExitMs, () => stop('idle'));
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
}
