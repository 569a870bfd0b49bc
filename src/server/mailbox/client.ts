// Mailbox cluster client: finds the leader from any seed, follows NOT_LEADER redirects, retries
// with the same request id across leader changes, and resolves an append only once the leader
// reports it committed on a majority and applied.
import { randomUUID } from 'node:crypto';
import { ConnectionClosedError, RequestConnection, RequestTimeoutError, type RawReply } from './connection';
import type { MailboxErrorCode, Member } from '../../shared/schemas/mailbox';
import type { MailboxAuth } from '../../shared/mailbox-auth';
import { proveAdmin } from './cluster-key';
import type { MailboxTlsClientOptions } from './wire-socket';

export interface MailboxClientOptions {
  seeds: string[];
  clusterId?: string;
  /** Overall budget per operation, across retries (default 30 s). */
  timeoutMs?: number;
  /** Budget for one attempt against one node (default 3 s). */
  attemptTimeoutMs?: number;
  /** Writer identity scoping reqId de-duplication (default: random per client instance). */
  clientId?: string;
  /** The cluster key (loadClusterKey): needed only for membership operations such as removeNode. */
  clusterKey?: Buffer;
  /** Speak TLS to the nodes (they run with --tls-cert/--tls-key); certificates are checked normally. */
  tls?: MailboxTlsClientOptions;
}

export interface ClusterInfo {
  clusterId: string;
  nodeId: string;
  term: number;
  leader: { id: string; addr: string | null } | null;
  members: Member[];
}

export type ReadResult = { seq: number; data: string } | { empty: true };

export class MailboxError extends Error {
  constructor(
    readonly code: MailboxErrorCode | 'NO_NODE',
    message: string,
    /** True when the operation may or may not have taken effect (retry with the same reqId). */
    readonly outcomeUnknown = false,
  ) {
    super(message);
    this.name = 'MailboxError';
  }
}

const RETRYABLE = new Set<string>(['NOT_LEADER', 'UNAVAILABLE', 'TIMEOUT', 'SHUTTING_DOWN', 'OVERLOADED']);
const MEMBERSHIP_OPS = new Set(['JOIN_CLUSTER', 'LEAVE_CLUSTER']);

function authField(auth: MailboxAuth | undefined): { auth?: MailboxAuth } {
  return auth ? { auth } : {};
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class MailboxClient {
  private readonly seeds: string[];
  private clusterId: string | undefined;
  private readonly timeoutMs: number;
  private readonly attemptTimeoutMs: number;
  private readonly connections = new Map<string, RequestConnection>();
  private leaderAddr: string | null = null;
  private known: string[];
  private rotation = 0;
  private closed = false;
  private readonly clusterKey: Buffer | undefined;
  private readonly tls: MailboxTlsClientOptions | undefined;
  readonly clientId: string;
  /** Refusals this client retried, by code (the node counts each one it sent). */
  readonly retried: Record<string, number> = {};

  constructor(opts: MailboxClientOptions) {
    this.clientId = opts.clientId ?? `c-${randomUUID()}`;
    if (opts.seeds.length === 0) throw new Error('MailboxClient needs at least one seed');
    this.seeds = [...opts.seeds];
    this.known = [...opts.seeds];
    this.clusterId = opts.clusterId;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.attemptTimeoutMs = opts.attemptTimeoutMs ?? 3_000;
    this.clusterKey = opts.clusterKey;
    this.tls = opts.tls;
  }

  /** The node currently believed to lead (null until learned). */
  get leader(): string | null {
    return this.leaderAddr;
  }

  async cluster(): Promise<ClusterInfo> {
    const reply = await this.call({ op: 'CLUSTER_QUERY' }, { anyNode: true });
    const info = reply as unknown as ClusterInfo;
    this.learn(info);
    return { clusterId: info.clusterId, nodeId: info.nodeId, term: info.term, leader: info.leader, members: info.members };
  }

  /** Creates the queue if it does not exist yet (idempotent). */
  async create(queue: string): Promise<void> {
    await this.call({ op: 'CREATE_QUEUE', queue, reqId: randomUUID() });
  }

  /**
   * Appends once, whatever the retries: resolves with the queue sequence number after a majority
   * commit. To settle an append whose outcome was unknown, call again with the same reqId (and
   * the same clientId, which scopes de-duplication).
   */
  async append(queue: string, data: string, reqId: string = randomUUID(), opts: { clientId?: string; auth?: MailboxAuth } = {}): Promise<{ seq: number; reqId: string }> {
    const reply = await this.call({ op: 'APPEND', queue, data, reqId, clientId: opts.clientId ?? this.clientId, ...authField(opts.auth) });
    return { seq: Number(reply.seq), reqId };
  }

  /** `auth` (src/shared/mailbox-auth.ts) is required on inbox:{userId} queues. */
  async read(queue: string, clientId: string, auth?: MailboxAuth): Promise<ReadResult> {
    const reply = await this.call({ op: 'READ', queue, clientId, ...authField(auth) });
    if (reply.empty === true) return { empty: true };
    return { seq: Number(reply.seq), data: String(reply.data) };
  }

  async ack(queue: string, clientId: string, seq: number, auth?: MailboxAuth): Promise<void> {
    await this.call({ op: 'ACK', queue, clientId, seq, ...authField(auth) });
  }

  /** Per-code rejection counters of one node (STATS op). */
  async stats(addr: string): Promise<{ nodeId: string; role: string; term: number; rejects: Record<string, number>; storage: { transactions: number; entries: number; unsynced: number } }> {
    const conn = this.connection(addr);
    const reply = await conn.request(this.frame({ op: 'STATS' }), this.attemptTimeoutMs);
    if (!reply.ok) throw new MailboxError(String(reply.code) as MailboxErrorCode, String(reply.reason));
    return reply as unknown as { nodeId: string; role: string; term: number; rejects: Record<string, number>; storage: { transactions: number; entries: number; unsynced: number } };
  }

  /** Asks the cluster to remove a node (it leaves through a configuration change). */
  async removeNode(nodeId: string): Promise<void> {
    if (!this.clusterKey) throw new MailboxError('UNAUTHENTICATED', 'removing a node needs the cluster key (MailboxClient clusterKey / --cluster-key FILE)');
    if (this.clusterId === undefined) await this.cluster(); // the proof names the cluster
    await this.call({ op: 'LEAVE_CLUSTER', nodeId });
  }

  close(): void {
    this.closed = true;
    for (const c of this.connections.values()) c.close();
    this.connections.clear();
  }

  private frame(body: Record<string, unknown>): Record<string, unknown> {
    const framed = this.clusterId === undefined ? body : { ...body, clusterId: this.clusterId };
    if (!MEMBERSHIP_OPS.has(String(body.op)) || !this.clusterKey || this.clusterId === undefined) return framed;
    // A fresh proof per attempt: each one is accepted once.
    const fields = { clusterId: this.clusterId, op: String(body.op), nodeId: String(body.nodeId), addr: typeof body.addr === 'string' ? body.addr : null };
    return { ...framed, auth: proveAdmin(this.clusterKey, fields) };
  }

  private learn(info: { clusterId?: unknown; leader?: unknown; members?: unknown }): void {
    if (typeof info.clusterId === 'string' && this.clusterId === undefined) this.clusterId = info.clusterId;
    const leader = info.leader as { addr?: unknown } | null | undefined;
    if (leader && typeof leader.addr === 'string') this.leaderAddr = leader.addr;
    if (Array.isArray(info.members)) {
      const addrs = (info.members as Array<{ addr?: unknown }>).map((m) => m.addr).filter((a): a is string => typeof a === 'string');
      this.known = [...new Set([...this.seeds, ...addrs])];
    }
  }

  private connection(addr: string): RequestConnection {
    let c = this.connections.get(addr);
    if (!c || c.closed) {
      c = new RequestConnection(addr, 2000, this.tls);
      this.connections.set(addr, c);
    }
    return c;
  }

  private nextTarget(): string {
    if (this.leaderAddr) return this.leaderAddr;
    const addr = this.known[this.rotation % this.known.length] ?? this.seeds[0]!;
    this.rotation++;
    return addr;
  }

  /** Sends until a definitive reply or the overall budget runs out. */
  private async call(body: Record<string, unknown>, opts: { anyNode?: boolean } = {}): Promise<RawReply> {
    const deadline = Date.now() + this.timeoutMs;
    let attempt = 0;
    let lastError = 'no attempt made';
    let maybeApplied = false;
    while (!this.closed && Date.now() < deadline) {
      const target = opts.anyNode ? (this.leaderAddr ?? this.nextTarget()) : this.nextTarget();
      const budget = Math.max(1, Math.min(this.attemptTimeoutMs, deadline - Date.now()));
      try {
        const reply = await this.connection(target).request(this.frame(body), budget);
        if (reply.ok) {
          if (typeof reply.clusterId === 'string' && this.clusterId === undefined) this.clusterId = reply.clusterId;
          return reply;
        }
        const code = String(reply.code);
        lastError = `${target}: ${code} ${String(reply.reason)}`;
        if (code === 'WRONG_CLUSTER' && this.clusterId === undefined && typeof reply.clusterId === 'string') {
          this.clusterId = reply.clusterId;
        } else if (!RETRYABLE.has(code)) {
          throw new MailboxError(code as MailboxErrorCode, lastError);
        }
        this.retried[code] = (this.retried[code] ?? 0) + 1;
        if (code === 'TIMEOUT' || code === 'UNAVAILABLE' || code === 'SHUTTING_DOWN') maybeApplied = true;
        const hint = reply.leader as { addr?: unknown } | null | undefined;
        if (code === 'NOT_LEADER' && hint && typeof hint.addr === 'string' && hint.addr !== target) {
          this.leaderAddr = hint.addr;
          if (!this.known.includes(hint.addr)) this.known.push(hint.addr);
          continue; // a fresh redirect: try it at once
        }
        this.leaderAddr = null;
      } catch (err) {
        if (err instanceof MailboxError) throw err;
        if (err instanceof RequestTimeoutError) maybeApplied = true;
        if (err instanceof ConnectionClosedError && err.message.includes('connection closed')) maybeApplied = true;
        lastError = `${target}: ${err instanceof Error ? err.message : String(err)}`;
        this.leaderAddr = null;
        this.connections.get(target)?.close();
        this.connections.delete(target);
      }
      attempt++;
      // short: an election in the fast profile takes 0.6-1.2 s and the client should notice at once
      await sleep(Math.min(25 * 2 ** Math.min(attempt, 4), 200));
    }
    throw new MailboxError(
      this.closed ? 'SHUTTING_DOWN' : 'UNAVAILABLE',
      `${String(body.op)} failed after ${attempt} attempts: ${lastError}`,
      maybeApplied && body.op !== 'READ' && body.op !== 'CLUSTER_QUERY',
    );
  }
}
