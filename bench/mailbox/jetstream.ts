// Baseline: a 3-server NATS JetStream cluster (Debian's nats-server 2.9) on free loopback ports,
// file storage in temp dirs, one replicas-3 stream per benchmark queue. Version 2.9 has no
// per-write fsync option, so this is its default (no-fsync) durability.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  connect,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
} from 'nats';
import { freePort, makeTempDir, ManagedProcess, portAcceptsConnections, removeTempDir, sleep, waitFor } from './procs';
import type { AppendClient, BenchCluster, StoredMessage } from './types';

export const NATS_SERVER_BINARY = process.env.NATS_SERVER ?? '/usr/sbin/nats-server';
const CLUSTER_NAME = 'parley-bench';

interface NatsNode {
  name: string;
  clientPort: number;
  process: ManagedProcess;
}

/** Stream names may not contain '.', '*', '>' or whitespace; queue names here are [a-z0-9-]. */
function streamName(queue: string): string {
  return `BENCH_${queue.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

function subjectFor(queue: string): string {
  return `bench.${queue.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

interface JetStreamClusterOptions {
  /** Per-publish PubAck timeout; a timed-out publish is retried with the same msgID. */
  publishTimeoutMs?: number;
}

class JetStreamAppendClient implements AppendClient {
  constructor(
    private readonly connection: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly publishTimeoutMs: number,
  ) {}

  async append(queue: string, data: Uint8Array, requestId: string): Promise<number> {
    // The v2 client resolves only when the stream leader's PubAck (after the replicas-3 quorum) arrives.
    const ack = await this.js.publish(subjectFor(queue), data, { msgID: requestId, timeout: this.publishTimeoutMs });
    return ack.seq;
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}

export class JetStreamCluster implements BenchCluster {
  readonly label = 'JetStream';
  readonly nodeCount = 3;
  private readonly nodes: NatsNode[] = [];
  private root = '';
  private admin: NatsConnection | undefined;
  private manager: JetStreamManager | undefined;
  private readonly publishTimeoutMs: number;

  constructor(options: JetStreamClusterOptions = {}) {
    this.publishTimeoutMs = options.publishTimeoutMs ?? 2000;
  }

  private get servers(): string[] {
    return this.nodes.map((node) => `127.0.0.1:${node.clientPort}`);
  }

  async start(): Promise<void> {
    this.root = makeTempDir('parley-bench-nats-');
    const ports = [];
    for (let i = 0; i < this.nodeCount; i++) ports.push({ client: await freePort(), route: await freePort() });
    const routes = ports.map((p) => `nats-route://127.0.0.1:${p.route}`);
    ports.forEach((p, i) => {
      const name = `n${i}`;
      const config = join(this.root, `${name}.conf`);
      writeFileSync(
        config,
        [
          `server_name: ${name}`,
          `listen: 127.0.0.1:${p.client}`,
          `jetstream { store_dir: "${join(this.root, name)}" }`,
          `cluster {`,
          `  name: ${CLUSTER_NAME}`,
          `  listen: 127.0.0.1:${p.route}`,
          `  routes: [${routes.filter((_, j) => j !== i).join(', ')}]`,
          `}`,
          '',
        ].join('\n'),
      );
      const proc = new ManagedProcess(`nats ${name}`, NATS_SERVER_BINARY, ['-c', config], join(this.root, `${name}.log`));
      this.nodes.push({ name, clientPort: p.client, process: proc });
    });
    for (const node of this.nodes) node.process.start();
    for (const node of this.nodes) await waitFor(`nats ${node.name} listening`, () => portAcceptsConnections(node.clientPort));
    const admin = await connect({ servers: this.servers, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    this.admin = admin;
    // JetStream answers API calls only once the meta group has elected a leader.
    this.manager = await waitFor('JetStream meta leader', async () => {
      const manager = await admin.jetstreamManager({ timeout: 2000 });
      await manager.getAccountInfo();
      return manager;
    }, { timeoutMs: 60_000, intervalMs: 200 });
  }

  private get jsm(): JetStreamManager {
    if (!this.manager) throw new Error('JetStream cluster not started');
    return this.manager;
  }

  async createQueue(queue: string): Promise<void> {
    const config = {
      name: streamName(queue),
      subjects: [subjectFor(queue)],
      num_replicas: 3,
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      duplicate_window: 120_000_000_000, // 2 min, in ns: covers every retry of one append
    };
    await waitFor(`stream ${config.name}`, async () => (await this.jsm.streams.add(config)) !== undefined, { timeoutMs: 30_000, intervalMs: 250 });
    await this.waitHealthy(queue, 30_000);
  }

  async connect(options: { operationTimeoutMs?: number } = {}): Promise<AppendClient> {
    const timeout = options.operationTimeoutMs ?? this.publishTimeoutMs;
    const connection = await connect({ servers: this.servers, reconnectTimeWait: 50, maxReconnectAttempts: -1, noEcho: true });
    return new JetStreamAppendClient(connection, connection.jetstream({ timeout }), timeout);
  }

  async readAll(queue: string): Promise<StoredMessage[]> {
    if (!this.admin) throw new Error('JetStream cluster not started');
    const name = streamName(queue);
    const info = await this.jsm.streams.info(name);
    const lastSeq = info.state.last_seq;
    const out: StoredMessage[] = [];
    if (info.state.messages === 0) return out;
    const consumer = await this.admin.jetstream().consumers.get(name); // ordered consumer from the first message
    const messages = await consumer.consume({ max_messages: 1000 });
    for await (const message of messages) {
      out.push({ seq: message.seq, data: message.data });
      if (message.seq >= lastSeq) break;
    }
    await messages.close();
    return out;
  }

  async dropQueue(queue: string): Promise<void> {
    await this.jsm.streams.delete(streamName(queue));
  }

  async leaderIndex(queue: string): Promise<number> {
    const info = await this.jsm.streams.info(streamName(queue));
    const leader = info.cluster?.leader;
    const index = this.nodes.findIndex((node) => node.name === leader);
    if (index < 0) throw new Error(`stream ${streamName(queue)} has no leader yet`);
    return index;
  }

  async kill9(index: number): Promise<void> {
    const node = this.nodes[index];
    if (!node) throw new Error(`no node ${index}`);
    await node.process.kill9();
  }

  async restart(index: number): Promise<void> {
    const node = this.nodes[index];
    if (!node) throw new Error(`no node ${index}`);
    node.process.start();
    await waitFor(`nats ${node.name} listening again`, () => portAcceptsConnections(node.clientPort));
  }

  async waitHealthy(queue: string, timeoutMs: number): Promise<void> {
    const name = streamName(queue);
    await waitFor(
      `stream ${name} leader and ${this.nodeCount - 1} current replicas`,
      async () => {
        if (this.nodes.some((node) => !node.process.running)) return false;
        const info = await this.jsm.streams.info(name);
        const replicas = info.cluster?.replicas ?? [];
        return info.cluster?.leader !== undefined && replicas.length === this.nodeCount - 1 && replicas.every((r) => r.current && !r.offline);
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  async stop(): Promise<void> {
    try {
      await this.admin?.close();
    } catch {
      // servers may already be gone
    }
    this.admin = undefined;
    this.manager = undefined;
    await Promise.all(this.nodes.map((node) => node.process.stop()));
    await Promise.all(this.nodes.map((node) => node.process.closeLog()));
    if (this.root) removeTempDir(this.root);
    await sleep(0);
  }
}
