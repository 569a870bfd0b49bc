// Test harness: real `parley mailbox node` processes on loopback, optionally wired through one
// LinkProxy per peer pair so links can be cut and healed individually.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { LinkProxy } from '../../../src/server/mailbox/fault-proxy';
import { MailboxClient } from '../../../src/server/mailbox/client';
import { freePort } from '../../helpers/ports';

export { freePort };

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const BIN = join(REPO, 'bin/parley.mjs');


export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
}

export interface NodeSpec {
  id: string;
  port: number;
  dataDir: string;
}

export interface ClusterOptions {
  size: number;
  proxies?: boolean;
  profile?: 'fast' | 'spec';
  sync?: 'full' | 'normal';
  snapshotEvery?: number;
  clusterId?: string;
  /** extra `parley mailbox node` flags for every node (e.g. inbox limits) */
  nodeArgs?: string[];
  /** extra environment of every node process (e.g. PARLEY_CA_FILE) */
  env?: Record<string, string>;
  /** start the nodes without --cluster-key (only a one-node cluster can) */
  noKey?: boolean;
}

export class TestCluster {
  readonly root = mkdtempSync(join(tmpdir(), 'parley-mailbox-'));
  readonly specs: NodeSpec[] = [];
  readonly procs = new Map<string, ChildProcess>();
  /** proxies[a][b] for a < b: the link a dials to reach b */
  readonly proxies = new Map<string, LinkProxy>();
  readonly stderr = new Map<string, string>();
  readonly pids = new Map<string, number>();
  readonly clusterId: string;
  /** the cluster key every node gets (--cluster-key keyFile); operator clients need it too */
  readonly key = randomBytes(32);
  readonly keyFile = join(this.root, 'cluster.key');

  constructor(readonly opts: ClusterOptions) {
    this.clusterId = opts.clusterId ?? 'test-cluster';
    writeFileSync(this.keyFile, this.key.toString('hex') + '\n', { mode: 0o600 });
  }

  /** A client holding the cluster key (for membership operations). */
  operator(): MailboxClient {
    return new MailboxClient({ seeds: this.seeds, clusterId: this.clusterId, clusterKey: this.key });
  }

  static async start(opts: ClusterOptions): Promise<TestCluster> {
    const c = new TestCluster(opts);
    for (let i = 1; i <= opts.size; i++) c.specs.push({ id: `n${i}`, port: await freePort(), dataDir: join(c.root, `n${i}`) });
    if (opts.proxies) {
      for (const a of c.specs) for (const b of c.specs) {
        if (a.id < b.id) c.proxies.set(`${a.id}-${b.id}`, await new LinkProxy(`127.0.0.1:${b.port}`).start());
      }
    }
    await Promise.all(c.specs.map((s) => c.startNode(s.id)));
    return c;
  }

  addr(id: string): string {
    return `127.0.0.1:${this.spec(id).port}`;
  }

  get seeds(): string[] {
    return this.specs.map((s) => `127.0.0.1:${s.port}`);
  }

  spec(id: string): NodeSpec {
    const s = this.specs.find((x) => x.id === id);
    if (!s) throw new Error(`no node ${id}`);
    return s;
  }

  private peerArg(self: NodeSpec): string {
    return this.specs
      .filter((s) => s.id !== self.id && this.initialVoters.includes(s.id))
      .map((s) => {
        const proxy = this.proxies.get(`${self.id}-${s.id}`);
        return `${s.id}@${proxy ? proxy.addr : `127.0.0.1:${s.port}`}`;
      })
      .join(',');
  }

  private initialVoters: string[] = [];

  async startNode(id: string, extra: string[] = []): Promise<{ recovered: boolean }> {
    if (this.initialVoters.length === 0) this.initialVoters = this.specs.map((s) => s.id);
    const spec = this.spec(id);
    const args = [
      BIN, 'mailbox', 'node', '--id', id, '--port', String(spec.port), '--data', spec.dataDir,
      '--profile', this.opts.profile ?? 'fast', '--sync', this.opts.sync ?? 'full', '--cluster-id', this.clusterId,
      ...(this.opts.snapshotEvery ? ['--snapshot-every', String(this.opts.snapshotEvery)] : []),
      ...(this.opts.nodeArgs ?? []),
      ...(this.opts.noKey ? [] : ['--cluster-key', this.keyFile]),
    ];
    const peers = this.peerArg(spec);
    if (peers && !extra.includes('--join')) args.push('--peers', peers);
    args.push(...extra);
    const proc = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.opts.env } });
    this.pids.set(id, proc.pid ?? 0);
    this.procs.set(id, proc);
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      this.stderr.set(id, err.slice(-4000));
    });
    const rl = createInterface({ input: proc.stdout! });
    return new Promise((resolveReady, reject) => {
      const timer = setTimeout(() => reject(new Error(`${id} did not become ready: ${err}`)), 45_000);
      rl.once('line', (line) => {
        clearTimeout(timer);
        try {
          const ready = JSON.parse(line) as { ready?: boolean; recovered?: boolean };
          if (!ready.ready) throw new Error(line);
          resolveReady({ recovered: !!ready.recovered });
        } catch (e) {
          reject(new Error(`${id} bad ready line: ${line} ${String(e)}`));
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${id} exited with ${code}: ${err}`));
      });
    });
  }

  /** Adds a node spec (not yet started) for a join test. */
  async addSpec(id: string): Promise<NodeSpec> {
    const s = { id, port: await freePort(), dataDir: join(this.root, id) };
    this.specs.push(s);
    return s;
  }

  kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.procs.get(id);
    if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
    return new Promise((r) => {
      p.once('exit', () => r());
      p.kill(signal);
    });
  }

  signal(id: string, signal: NodeJS.Signals): void {
    this.procs.get(id)?.kill(signal);
  }

  link(a: string, b: string): LinkProxy {
    const key = a < b ? `${a}-${b}` : `${b}-${a}`;
    const p = this.proxies.get(key);
    if (!p) throw new Error(`no proxy for ${key}`);
    return p;
  }

  /** Cuts every link between the two groups. */
  partition(groupA: string[], groupB: string[]): void {
    for (const a of groupA) for (const b of groupB) this.link(a, b).setCut(true);
  }

  healAll(): void {
    for (const p of this.proxies.values()) p.setCut(false);
  }

  async leader(client: MailboxClient, among?: string[]): Promise<string> {
    return waitFor('a leader', async () => {
      const votes = new Map<string, number>();
      for (const s of this.specs) {
        if (among && !among.includes(s.id)) continue;
        const p = this.procs.get(s.id);
        if (!p || p.exitCode !== null || p.signalCode !== null) continue;
        try {
          const st = await client.stats(this.addr(s.id));
          if (st.role === 'leader') votes.set(s.id, st.term);
        } catch {
          /* down or paused */
        }
      }
      if (votes.size === 0) return undefined;
      // the leader of the highest term
      return [...votes.entries()].sort((x, y) => y[1] - x[1])[0]![0];
    }, 30_000, 150);
  }

  /** Resident memory of a node's process, in MiB (from /proc). */
  rssMiB(id: string): number {
    const status = readFileSync(`/proc/${this.pids.get(id) ?? 0}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    return kb / 1024;
  }

  /** One node's event log (term/role transitions, membership changes). */
  events(id: string): Array<{ node: string; term: number; role: string; event: string; detail?: string }> {
    const f = join(this.spec(id).dataDir, 'events.jsonl');
    if (!existsSync(f)) return [];
    return readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { node: string; term: number; role: string; event: string; detail?: string });
  }

  /** term -> leaders claimed, from every node's event log. */
  leadersPerTerm(): Map<number, Set<string>> {
    const out = new Map<number, Set<string>>();
    for (const s of this.specs) {
      const f = join(s.dataDir, 'events.jsonl');
      if (!existsSync(f)) continue;
      for (const line of readFileSync(f, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        const e = JSON.parse(line) as { node: string; term: number; role: string };
        if (e.role !== 'leader') continue;
        const set = out.get(e.term) ?? new Set<string>();
        set.add(e.node);
        out.set(e.term, set);
      }
    }
    return out;
  }

  async stop(): Promise<void> {
    for (const id of this.procs.keys()) {
      const p = this.procs.get(id)!;
      if (p.signalCode === null && p.exitCode === null) p.kill('SIGCONT');
    }
    await Promise.all([...this.procs.keys()].map((id) => this.kill(id, 'SIGKILL')));
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
    if (!process.env.KEEP_MAILBOX_DATA) rmSync(this.root, { recursive: true, force: true });
  }
}
