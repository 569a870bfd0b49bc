// Parley's mailbox cluster under test: 3 broker processes started through the `parley mailbox node`
// CLI, driven through the MailboxClient library (loaded lazily so the benchmark still runs the
// JetStream baseline when the Parley side is missing or broken).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MailboxClient } from '../../src/server/mailbox/client';
import { freePort, makeTempDir, ManagedProcess, portAcceptsConnections, removeTempDir, waitFor } from './procs';
import type { AppendClient, BenchCluster, StoredMessage } from './types';

export type ParleyProfile = 'fast' | 'spec';
export type ParleySync = 'full' | 'normal';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(REPO_ROOT, 'bin', 'parley.mjs');
const CLIENT_MODULE = join(REPO_ROOT, 'src', 'server', 'mailbox', 'client.ts');
const CLI_MAILBOX_MODULE = join(REPO_ROOT, 'src', 'cli', 'mailbox.ts');

type MailboxClientCtor = typeof MailboxClient;

async function loadClientClass(): Promise<MailboxClientCtor> {
  const mod = await import('../../src/server/mailbox/client');
  if (typeof mod.MailboxClient !== 'function') throw new Error('src/server/mailbox/client.ts exports no MailboxClient');
  return mod.MailboxClient;
}

/** Why the Parley side cannot run here, or undefined if it looks runnable (checked for real at start). */
export function parleyUnavailableReason(): string | undefined {
  if (!existsSync(CLIENT_MODULE)) return 'src/server/mailbox/client.ts not present';
  if (!existsSync(CLI_MAILBOX_MODULE)) return 'src/cli/mailbox.ts (parley mailbox node) not present';
  return undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

class ParleyAppendClient implements AppendClient {
  constructor(private readonly client: MailboxClient) {}

  async append(queue: string, data: Uint8Array, requestId: string): Promise<number> {
    // Mailbox data is a string on the wire; benchmark payloads are ASCII, so bytes == chars.
    const { seq } = await this.client.append(queue, decoder.decode(data), requestId);
    return seq;
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

interface ParleyNode {
  id: string;
  port: number;
  dataDir: string;
  process: ManagedProcess;
}

export interface ParleyClusterOptions {
  profile: ParleyProfile;
  sync: ParleySync;
  /** Extra `parley mailbox node` flags for every node (e.g. the inbox limits). */
  nodeArgs?: string[];
  /** Flags for the node processes' `node` itself (e.g. --cpu-prof), before the script. */
  nodeFlags?: string[];
  label?: string;
}

export class ParleyCluster implements BenchCluster {
  readonly label: string;
  readonly nodeCount = 3;
  private readonly nodes: ParleyNode[] = [];
  private root = '';
  private ClientClass: MailboxClientCtor | undefined;
  private admin: MailboxClient | undefined;

  constructor(private readonly options: ParleyClusterOptions) {
    this.label = options.label ?? `Parley ${options.sync}${options.profile === 'spec' ? ' spec' : ''}`;
  }

  private get seeds(): string[] {
    return this.nodes.map((node) => `127.0.0.1:${node.port}`);
  }

  protected newClient(operationTimeoutMs?: number): MailboxClient {
    if (!this.ClientClass) throw new Error('Parley cluster not started');
    // The spec profile elects in 15 s or more; give one operation room for two elections.
    const timeoutMs = operationTimeoutMs ?? (this.options.profile === 'spec' ? 120_000 : 30_000);
    return new this.ClientClass({ seeds: this.seeds, timeoutMs, attemptTimeoutMs: Math.min(3000, timeoutMs) });
  }

  private get adminClient(): MailboxClient {
    if (!this.admin) throw new Error('Parley cluster not started');
    return this.admin;
  }

  async start(): Promise<void> {
    const reason = parleyUnavailableReason();
    if (reason) throw new Error(reason);
    this.ClientClass = await loadClientClass();
    this.root = makeTempDir(`parley-bench-mailbox-${this.options.sync}-${this.options.profile}-`);
    const ports: number[] = [];
    for (let i = 0; i < this.nodeCount; i++) ports.push(await freePort());
    const addressOf = (i: number): string => `n${i}@127.0.0.1:${ports[i]}`;
    // A multi-node cluster runs with a cluster key (broker links are authenticated with it).
    const keyFile = join(this.root, 'cluster.key');
    writeFileSync(keyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    for (let i = 0; i < this.nodeCount; i++) {
      const id = `n${i}`;
      const dataDir = join(this.root, id);
      mkdirSync(dataDir, { recursive: true });
      const peers = ports.map((_, j) => j).filter((j) => j !== i).map(addressOf).join(',');
      const args = [
        ...(this.options.nodeFlags ?? []),
        CLI, 'mailbox', 'node',
        '--id', id,
        '--port', String(ports[i]),
        '--data', dataDir,
        '--peers', peers,
        '--profile', this.options.profile,
        '--sync', this.options.sync,
        '--cluster-key', keyFile,
        ...(this.options.nodeArgs ?? []),
      ];
      const proc = new ManagedProcess(`parley ${id}`, process.execPath, args, join(this.root, `${id}.log`), REPO_ROOT);
      this.nodes.push({ id, port: ports[i] as number, dataDir, process: proc });
    }
    for (const node of this.nodes) node.process.start();
    for (const node of this.nodes) {
      await waitFor(`parley ${node.id} listening`, async () => {
        if (!node.process.running) throw new Error(`parley ${node.id} exited (see ${this.root}/${node.id}.log)`);
        return portAcceptsConnections(node.port);
      }, { timeoutMs: 60_000, intervalMs: 100 });
    }
    this.admin = this.newClient();
    const electionBudget = this.options.profile === 'spec' ? 120_000 : 30_000;
    await waitFor('a Parley leader', async () => (await this.adminClient.cluster()).leader !== null, { timeoutMs: electionBudget, intervalMs: 200 });
  }

  /** OS process ids of the running nodes (profiling: CPU time per append). */
  pids(): number[] {
    return this.nodes.map((node) => node.process.pid).filter((pid): pid is number => pid !== undefined);
  }

  async createQueue(queue: string): Promise<void> {
    await this.adminClient.create(queue);
  }

  async connect(options: { operationTimeoutMs?: number } = {}): Promise<AppendClient> {
    return new ParleyAppendClient(this.newClient(options.operationTimeoutMs));
  }

  /** Reads the queue from the start with a fresh consumer id (READ next, then ACK it). */
  async readAll(queue: string): Promise<StoredMessage[]> {
    const reader = this.newClient();
    const consumerId = `bench-verify-${process.pid}-${Date.now()}`;
    const out: StoredMessage[] = [];
    try {
      for (;;) {
        const result = await reader.read(queue, consumerId);
        if ('empty' in result) break;
        out.push({ seq: result.seq, data: encoder.encode(result.data) });
        await reader.ack(queue, consumerId, result.seq);
      }
    } finally {
      reader.close();
    }
    return out;
  }

  async dropQueue(): Promise<void> {
    // The mailbox has no queue deletion; every benchmark cell uses a fresh queue name instead.
  }

  async leaderIndex(): Promise<number> {
    const info = await this.adminClient.cluster();
    const index = this.nodes.findIndex((node) => node.id === info.leader?.id);
    if (index < 0) throw new Error('no Parley leader known');
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
    await waitFor(`parley ${node.id} listening again`, () => portAcceptsConnections(node.port), { timeoutMs: 60_000 });
  }

  /** Every node up and answering, all agreeing on one leader in one term. */
  async waitHealthy(_queue: string, timeoutMs: number): Promise<void> {
    await waitFor(
      'every Parley node to follow one leader',
      async () => {
        if (this.nodes.some((node) => !node.process.running)) return false;
        const stats = await Promise.all(this.seeds.map((addr) => this.adminClient.stats(addr)));
        const leaders = stats.filter((s) => s.role === 'leader');
        const terms = new Set(stats.map((s) => s.term));
        return leaders.length === 1 && terms.size === 1;
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  async stop(): Promise<void> {
    this.admin?.close();
    this.admin = undefined;
    await Promise.all(this.nodes.map((node) => node.process.stop()));
    await Promise.all(this.nodes.map((node) => node.process.closeLog()));
    if (this.root) removeTempDir(this.root);
  }
}
