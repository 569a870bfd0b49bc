/**
 * `parley server` (DESIGN section 10): starts the embedded servers on loopback and prints one JSON
 * ready line. For now that is the MQTT broker (TCP + WebSocket); the signal, registry and mailbox
 * servers plug in as ServerComponents when they exist, and only what runs appears in the ready line.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { startBroker, type BrokerHandle } from './broker';

export interface ServerComponent {
  /** Key in the ready line, e.g. 'signal', 'registry', 'mailbox'. */
  name: string;
  start(options: { port: number; host: string; dataDir: string | undefined }): Promise<{ url: string; close(): Promise<void> }>;
}

export interface StartServersOptions {
  /** MQTT TCP port; 0 = any free port. */
  mqtt?: number;
  /** MQTT-over-WebSocket port; 0 = any free port. */
  mqttWs?: number;
  signal?: number;
  registry?: number;
  mailbox?: number;
  dataDir?: string;
  host?: string;
  /** Implementations of the other servers, started when their port option is given. */
  components?: ServerComponent[];
}

export interface RunningServers {
  broker: BrokerHandle;
  /** `{ready:true, mqtt, mqttWs, …}` with a URL for each running server. */
  ready: Record<string, unknown>;
  close(): Promise<void>;
}

export async function startServers(options: StartServersOptions = {}): Promise<RunningServers> {
  const host = options.host ?? '127.0.0.1';
  const broker = await startBroker({ tcpPort: options.mqtt ?? 0, wsPort: options.mqttWs ?? 0, host });
  const ready: Record<string, unknown> = { ready: true, mqtt: broker.mqttUrl, mqttWs: broker.wsUrl };
  const closers: Array<() => Promise<void>> = [() => broker.close()];
  const ports: Record<string, number | undefined> = { signal: options.signal, registry: options.registry, mailbox: options.mailbox };
  try {
    for (const component of options.components ?? []) {
      const port = ports[component.name];
      if (port === undefined) continue;
      const running = await component.start({ port, host, dataDir: options.dataDir });
      ready[component.name] = running.url;
      closers.push(() => running.close());
    }
  } catch (error) {
    await closeInReverse(closers);
    throw error;
  }
  let closing: Promise<void> | null = null;
  return { broker, ready, close: () => (closing ??= closeInReverse(closers)) };
}

async function closeInReverse(closers: Array<() => Promise<void>>): Promise<void> {
  for (const close of [...closers].reverse()) await close().catch(() => undefined);
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('must be a port number 0-65535');
  return port;
}

interface ServerCommandOptions {
  mqtt: number;
  mqttWs: number;
  signal?: number;
  registry?: number;
  mailbox?: number;
  data?: string;
}

/** Adds `parley server` to the CLI; prints the ready line and stops cleanly on SIGINT/SIGTERM. */
export function registerServerCommand(program: Command, components: ServerComponent[] = []): Command {
  return program
    .command('server')
    .description('start the embedded servers on loopback and print one JSON ready line')
    .option('--mqtt <port>', 'MQTT TCP port (0 = free port)', parsePort, 0)
    .option('--mqtt-ws <port>', 'MQTT over WebSocket port (0 = free port)', parsePort, 0)
    .option('--signal <port>', 'signaling WebSocket server port', parsePort)
    .option('--registry <port>', 'registry REST server port', parsePort)
    .option('--mailbox <port>', 'mailbox node port', parsePort)
    .option('--data <dir>', 'data directory')
    .action(async (opts: ServerCommandOptions) => {
      const servers = await startServers({
        mqtt: opts.mqtt,
        mqttWs: opts.mqttWs,
        ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
        ...(opts.registry !== undefined ? { registry: opts.registry } : {}),
        ...(opts.mailbox !== undefined ? { mailbox: opts.mailbox } : {}),
        ...(opts.data !== undefined ? { dataDir: opts.data } : {}),
        components,
      });
      process.stdout.write(`${JSON.stringify(servers.ready)}\n`);
      const stop = (): void => {
        void servers.close().finally(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
