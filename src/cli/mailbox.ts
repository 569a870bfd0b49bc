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
}

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
    .action(async (o: NodeCliOptions) => {
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
      });
    });

  mailbox
    .command('client')
    .description('JSON-lines client: {op:"cluster"|"create"|"append"|"read"|"ack"|"stats"|"quit", ...}')
    .requiredOption('--seeds <list>', 'HOST:PORT,... of any cluster members', list)
    .option('--cluster-id <id>', 'expected cluster id (learned from the cluster if omitted)')
    .option('--timeout-ms <ms>', 'budget per operation across retries', positiveInt, 30_000)
    .option('--client-id <id>', 'writer identity scoping reqId de-duplication (default: random)')
    .option('--json', 'JSON lines on stdin/stdout (the only mode)', true)
    .action(async (o: { seeds: string[]; clusterId?: string; timeoutMs: number; clientId?: string }) => {
      const { runMailboxClient } = await import('../server/mailbox/run-client');
      await runMailboxClient(o);
    });
}
