// `parley mailbox node` and `parley mailbox client --json` (DESIGN sections 9 and 10).
// The heavy modules load lazily so other subcommands do not pay for them.
import { Command, InvalidArgumentError, Option } from 'commander';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number (0 = any free port)');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

/** `ID@HOST:PORT,...` */
export function parsePeers(value: string): Array<{ id: string; addr: string }> {
  return list(value).map((item) => {
    const at = item.indexOf('@');
    if (at <= 0 || !/^[^\s:]+:\d{1,5}$/.test(item.slice(at + 1))) throw new InvalidArgumentError(`bad peer "${item}" (want ID@HOST:PORT)`);
    return { id: item.slice(0, at), addr: item.slice(at + 1) };
  });
}

interface NodeCliOptions {
  id: string;
  port: number;
  host: string;
  data: string;
  peers?: Array<{ id: string; addr: string }>;
  profile: 'fast' | 'spec';
  sync: 'full' | 'normal';
  clusterId: string;
  join?: string[];
  snapshotEvery?: number;
  inboxTtlMs?: number;
  inboxRate?: number;
  inboxBurst?: number;
  inboxMaxMessages?: number;
  inboxMaxBytes?: number;
  clusterKey?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** --tls-cert/--tls-key for a node (both or neither), PARLEY_CA_FILE for peers' CA; exits 2 with the reason. */
async function readTlsOrExit(o: { tlsCert?: string; tlsKey?: string }, serving: boolean): Promise<{ cert?: Buffer; key?: Buffer; ca?: Buffer } | undefined> {
  const { loadTlsServerOptions, loadCaFile, TlsConfigError } = await import('../server/tls');
  try {
    if (serving) {
      if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) {
        throw new TlsConfigError('--tls-cert and --tls-key go together: give both (certificate and its private key, PEM) or neither');
      }
      if (o.tlsCert === undefined || o.tlsKey === undefined) return undefined;
    }
    const ca = process.env.PARLEY_CA_FILE ? loadCaFile(process.env.PARLEY_CA_FILE) : undefined;
    const pair = serving && o.tlsCert && o.tlsKey ? loadTlsServerOptions({ certFile: o.tlsCert, keyFile: o.tlsKey }) : {};
    return { ...pair, ...(ca ? { ca } : {}) };
  } catch (err) {
    if (!(err instanceof TlsConfigError)) throw err;
    process.stderr.write(`parley mailbox: ${err.message}\n`);
    process.exit(2);
  }
}

/** Reads --cluster-key FILE, or exits with a message that says what is wrong with it. */
async function readKeyOrExit(file: string | undefined): Promise<Buffer | undefined> {
  if (file === undefined) return undefined;
  const { loadClusterKey, ClusterKeyError } = await import('../server/mailbox/cluster-key');
  try {
    return loadClusterKey(file);
  } catch (err) {
    if (!(err instanceof ClusterKeyError)) throw err;
    process.stderr.write(`parley mailbox: --cluster-key: ${err.message}\n`);
    process.exit(2);
  }
}

const CLUSTER_KEY_HELP = 'file holding the cluster secret as 64 hex characters (openssl rand -hex 32 > FILE); required with --peers or --join';

export function registerMailboxCommands(program: Command): void {
  const mailbox = program.command('mailbox').description('replicated mailbox cluster (Raft over SQLite): broker node and client');

  mailbox
    .command('node')
    .description('run one mailbox broker; prints a JSON ready line when listening')
    .requiredOption('--id <id>', 'node id, unique in the cluster')
    .requiredOption('--port <port>', 'TCP port for clients and peers (0 = any free port)', port)
    .requiredOption('--data <dir>', 'data directory (SQLite file, event log)')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--peers <list>', 'initial voters other than this node: ID@HOST:PORT,...', parsePeers)
    .addOption(new Option('--profile <name>', 'timing profile').choices(['fast', 'spec']).default('fast'))
    .addOption(new Option('--sync <mode>', 'full = fsync every commit (durable); normal = no fsync (comparison mode)').choices(['full', 'normal']).default('full'))
    .option('--cluster-id <id>', 'cluster id carried by every frame', 'parley-mailbox')
    .option('--join <seeds>', 'join an existing cluster through these HOST:PORT seeds (as a learner)', list)
    .option('--snapshot-every <n>', 'compact the log every N applied entries', positiveInt)
    .option('--inbox-ttl-ms <ms>', 'how long inbox:{userId} deposits are held (default 30 days)', positiveInt)
    .option('--inbox-rate <n>', 'inbox deposits per second per depositor (default 50)', positiveInt)
    .option('--inbox-burst <n>', 'inbox deposit burst per depositor (default 200)', positiveInt)
    .option('--inbox-max-messages <n>', 'messages one inbox may hold (default 10000)', positiveInt)
    .option('--inbox-max-bytes <n>', 'bytes one inbox may hold (default 16 MiB)', positiveInt)
    .option('--cluster-key <file>', CLUSTER_KEY_HELP)
    .option('--tls-cert <file>', 'serve TLS to clients and peers with this certificate (PEM, may hold the chain); needs --tls-key. Peers are dialed over TLS and checked against the system roots plus $PARLEY_CA_FILE')
    .option('--tls-key <file>', 'private key (PEM) of --tls-cert')
    .action(async (o: NodeCliOptions) => {
      const clusterKey = await readKeyOrExit(o.clusterKey);
      const tls = await readTlsOrExit(o, true);
      const { runMailboxNode } = await import('../server/mailbox/run-node');
      await runMailboxNode({
        id: o.id,
        port: o.port,
        host: o.host,
        dataDir: o.data,
        peers: o.peers ?? [],
        profile: o.profile,
        sync: o.sync,
        clusterId: o.clusterId,
        join: o.join,
        snapshotEvery: o.snapshotEvery,
        inbox: {
          ...(o.inboxTtlMs ? { ttlMs: o.inboxTtlMs } : {}),
          ...(o.inboxRate ? { depositsPerSec: o.inboxRate } : {}),
          ...(o.inboxBurst ? { depositBurst: o.inboxBurst } : {}),
          ...(o.inboxMaxMessages ? { maxQueueMessages: o.inboxMaxMessages } : {}),
          ...(o.inboxMaxBytes ? { maxQueueBytes: o.inboxMaxBytes } : {}),
        },
        clusterKey,
        ...(tls?.cert && tls.key ? { tls: { cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}) } } : {}),
      });
    });

  mailbox
    .command('client')
    .description('JSON-lines client: {op:"cluster"|"create"|"append"|"read"|"ack"|"stats"|"leave"|"quit", ...}')
    .requiredOption('--seeds <list>', 'HOST:PORT,... of any cluster members', list)
    .option('--cluster-id <id>', 'expected cluster id (learned from the cluster if omitted)')
    .option('--timeout-ms <ms>', 'budget per operation across retries', positiveInt, 30_000)
    .option('--client-id <id>', 'writer identity scoping reqId de-duplication (default: random)')
    .option('--cluster-key <file>', 'the cluster key file, for operator requests ({op:"leave"})')
    .option('--tls', 'connect over TLS (nodes run with --tls-cert); certificates are checked against the system roots plus $PARLEY_CA_FILE')
    .option('--json', 'JSON lines on stdin/stdout (the only mode)', true)
    .action(async (o: { seeds: string[]; clusterId?: string; timeoutMs: number; clientId?: string; clusterKey?: string; tls?: boolean }) => {
      const clusterKey = await readKeyOrExit(o.clusterKey);
      const tlsCa = o.tls ? await readTlsOrExit({}, false) : undefined;
      const { runMailboxClient } = await import('../server/mailbox/run-client');
      await runMailboxClient({ seeds: o.seeds, clusterId: o.clusterId, timeoutMs: o.timeoutMs, clientId: o.clientId, clusterKey, ...(o.tls ? { tls: tlsCa?.ca ? { ca: tlsCa.ca } : {} } : {}) });
    });
}
