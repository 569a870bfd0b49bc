// A mailbox broker: drives the deterministic Raft core with a tick timer, persists every Ready in
// one SQLite transaction per event-loop turn (group commit) before sending or answering, and serves
// the client operations of seed 001 on the same TCP port as the broker-to-broker links.
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { RaftNode } from './core/node';
import type { ConfChange, Entry, HardState, RaftMessage, Ready, RestoredState, Role, Snapshot } from './core/types';
import { decodeConfigEntry } from './core/config';
import { FrameDecoder, writeFrame, type FrameEvent } from './framing';
import { PeerTransport } from './peer-transport';
import { MailboxStorage, StorageCorruptError, type PersistBatch, type StoredSnapshot, type SyncMode } from './storage';
import { EventLog } from './event-log';
import { snapshotDue } from './snapshot-policy';
import { PROFILES, type ProfileName, type TimingProfile } from './profiles';
import { QueueMachine, type MachineCommand, type MachineResult } from './state-machine';
import { RejectCounter } from '../../shared/errors';
import { RequestConnection } from './connection';
import { admitInbox, DEFAULT_INBOX_LIMITS, depositRate, type InboxLimits } from './inbox-policy';
import type { KeyedBuckets } from '../../shared/rate-limit/keyed-buckets';
import { isInboxName } from '../../shared/mailbox-auth';
import { AdminVerifier, proveAdmin } from './cluster-key';
import { createMailboxServer, dialMailbox, type MailboxTlsClientOptions, type MailboxTlsServerOptions } from './wire-socket';
import {
  MAX_CLIENT_FRAME_BYTES,
  looksLikePeerFrame,
  parseClientRequest,
  parsePeerHello,
  type ClientRequest,
  type MailboxErrorCode,
  type Member,
  type PeerFrame,
} from '../../shared/schemas/mailbox';

export interface MailboxNodeOptions {
  id: string;
  host?: string;
  port: number;
  dataDir: string;
  /** initial voters other than this node, with the address to dial them at */
  peers: Array<{ id: string; addr: string }>;
  profile?: ProfileName;
  sync?: SyncMode;
  clusterId?: string;
  /** seeds of an existing cluster to join as a learner */
  join?: string[];
  /** log of term/role transitions (default DATA/events.jsonl) */
  eventLogFile?: string;
  /** take a snapshot and compact the log every this many applied entries */
  snapshotEvery?: number;
  random?: () => number;
  /** expiry, caps and deposit rate of inbox:{userId} queues */
  inbox?: Partial<InboxLimits>;
  /**
   * The cluster key (`--cluster-key FILE`): authenticates broker links and membership operations.
   * Required with peers or --join; a keyless one-node mailbox refuses both.
   */
  clusterKey?: Buffer | null;
  /**
   * Serve TLS (`--tls-cert/--tls-key`) to clients and peers, and dial peers over TLS, checking
   * their certificates against the system roots plus `ca`. Every node of a cluster does the same.
   */
  tls?: MailboxTlsServerOptions & MailboxTlsClientOptions;
}

/** Replies buffered for one client beyond this and the client is dropped (it isn't reading). */
export const MAX_CLIENT_OUTPUT_BYTES = 4 * 1024 * 1024;
/** Requests one client connection may have awaiting replies; more are answered OVERLOADED. */
export const MAX_CLIENT_INFLIGHT = 1024;
/** Proposals awaiting commit, over all clients (count and command bytes); more are answered OVERLOADED. */
export const MAX_PENDING_PROPOSALS = 4096;
export const MAX_PENDING_PROPOSAL_BYTES = 32 * 1024 * 1024;
/** Reads awaiting their ReadIndex confirmation, over all clients. */
export const MAX_PENDING_READS = 4096;
/** Open client (not yet peer) connections; more are closed at once. */
export const MAX_CLIENT_CONNECTIONS = 4096;
/** A client frame declared bigger than this is not skipped: the connection is closed. */
export const MAX_CLIENT_SKIP_BYTES = 1024 * 1024;

export class ClusterKeyRequiredError extends Error {
  constructor(what: string) {
    super(`${what} needs a cluster key: create one with "openssl rand -hex 32 > cluster.key", give every node --cluster-key cluster.key`);
    this.name = 'ClusterKeyRequiredError';
  }
}

type Reply = (frame: Record<string, unknown>) => void;

function corrOf(ev: FrameEvent): number | null {
  const raw = ev.kind === 'frame' ? (ev.value as { corr?: unknown } | null)?.corr : undefined;
  return typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 ? raw : null;
}

interface PendingProposal {
  term: number;
  reply: Reply;
  corr: number;
  onResult(result: MachineResult | { error: MailboxErrorCode; reason: string }): void;
  timer: NodeJS.Timeout;
}

interface PendingRead {
  req: Extract<ClientRequest, { op: 'READ' }>;
  reply: Reply;
  index: number | null;
  timer: NodeJS.Timeout;
}

function storedSnapshot(snap: Snapshot): StoredSnapshot {
  const { data, ...meta } = snap;
  return { index: snap.index, term: snap.term, json: JSON.stringify(meta), data };
}

function restoredSnapshot(row: StoredSnapshot): Snapshot {
  return row.data === undefined ? (JSON.parse(row.json) as Snapshot) : { ...(JSON.parse(row.json) as Omit<Snapshot, 'data'>), data: row.data };
}

const REQUEST_TYPES = new Set(['REPLICATE', 'HEARTBEAT', 'DATA_SYNC_REQUEST', 'PROMOTE_TO_LEADER', 'ELECTION_REQUEST']);

export class MailboxNode {
  readonly id: string;
  readonly clusterId: string;
  readonly profile: TimingProfile;
  private readonly opts: MailboxNodeOptions;
  private storage!: MailboxStorage;
  private raft!: RaftNode;
  private readonly machine = new QueueMachine();
  private transport!: PeerTransport;
  private server: net.Server | null = null;
  private readonly clients = new Set<net.Socket>();
  private tickTimer: NodeJS.Timeout | null = null;
  private scheduled = false;
  // Codes here are the wire's (MailboxErrorCode, PEER_SENT_*); the event log keeps the reasons.
  private readonly rejects = new RejectCounter<string>({ keepRecent: 0 });
  private readonly lastRefusalEvent = new Map<string, number>();
  private readonly key: Buffer | null;
  private readonly admin: AdminVerifier | null;
  private events!: EventLog;
  private selfAddr = '';
  /** each node's own listening address, as it announced it (what clients are told) */
  private readonly advertised = new Map<string, string>();
  /** addresses from --peers: links are dialed here, never overridden by gossip */
  private readonly pinnedDial = new Map<string, string>();
  private readonly proposals = new Map<number, PendingProposal>();
  private pendingProposalBytes = 0;
  private readonly reads = new Map<string, PendingRead>();
  private applied = 0;
  /** `applied` at the previous tick: unchanged means no entry was applied for a whole tick */
  private appliedAtLastTick = 0;
  private snapshotIndex = 0;
  private lastSnapshotBytes = 0;
  private bytesSinceSnapshot = 0;
  private role: Role = 'follower';
  private leader: string | null = null;
  private term = 0;
  /** inside drainReady's apply pass: client sockets written to are flushed at its end */
  private draining = false;
  private readonly repliesWritten = new Set<net.Socket>();
  /** a hard state whose only change is the commit index, not written yet (see drainReady) */
  private deferredHard: HardState | undefined;
  /** term and vote as last written with an fsync */
  private syncedHard: { term: number; vote: string | null } = { term: 0, vote: null };
  private recovering = false;
  private joining = false;
  private stopped = false;
  private ticks = 0;
  private readonly inboxLimits: InboxLimits;
  private readonly depositRate: KeyedBuckets;

  constructor(opts: MailboxNodeOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.clusterId = opts.clusterId ?? 'parley-mailbox';
    this.profile = PROFILES[opts.profile ?? 'fast'];
    this.key = opts.clusterKey ?? null;
    if (!this.key && opts.peers.length > 0) throw new ClusterKeyRequiredError(`a multi-node mailbox cluster (--peers ${opts.peers.map((p) => p.id).join(',')})`);
    if (!this.key && (opts.join?.length ?? 0) > 0) throw new ClusterKeyRequiredError('joining a mailbox cluster (--join)');
    this.admin = this.key ? new AdminVerifier(this.key) : null;
    for (const p of opts.peers) this.pinnedDial.set(p.id, p.addr);
    this.inboxLimits = { ...DEFAULT_INBOX_LIMITS, ...opts.inbox };
    this.depositRate = depositRate(this.inboxLimits);
  }

  get address(): string {
    return this.selfAddr;
  }

  /** Opens storage, starts listening, and starts the Raft loop. */
  async start(): Promise<{ port: number; addr: string; recovered: boolean }> {
    const restored = this.openStorage();
    await this.listen();
    this.events = new EventLog(this.opts.eventLogFile ?? join(this.opts.dataDir, 'events.jsonl'), this.id);
    const knownAddrs = this.storage.getMeta('advertised');
    if (knownAddrs) {
      for (const [id, addr] of Object.entries(JSON.parse(knownAddrs) as Record<string, string>)) {
        if (!this.advertised.has(id)) this.advertised.set(id, addr);
      }
    }
    this.advertised.set(this.id, this.selfAddr);

    // A rejoin interrupted by a restart resumes: still no votes until promoted again.
    if (this.storage.getMeta('needsRejoin') === '1') this.recovering = true;
    if (this.recovering) this.storage.persist([{ meta: { needsRejoin: '1' } }]);
    const joiner = (this.opts.join?.length ?? 0) > 0 || this.recovering;
    // A joiner never bootstraps a configuration of its own (it would elect itself): it takes the
    // cluster's from the leader's log or snapshot.
    const voters = joiner ? [] : [this.id, ...this.opts.peers.map((p) => p.id)];
    this.raft = new RaftNode({
      id: this.id,
      voters,
      electionTicks: this.profile.electionTicks,
      heartbeatTicks: this.profile.heartbeatTicks,
      preVote: true,
      checkQuorum: true,
      random: this.opts.random ?? Math.random,
      restored,
    });
    this.term = restored.hardState.term;
    this.syncedHard = { term: restored.hardState.term, vote: restored.hardState.vote };
    // Keep asking to join until the cluster's configuration has reached us (also after a restart).
    const configured = this.raft.status();
    this.joining = joiner && (this.recovering || configured.voters.length + configured.learners.length === 0);

    this.transport = new PeerTransport({
      selfId: this.id,
      clusterId: this.clusterId,
      selfAddr: this.selfAddr,
      key: this.key,
      ...(this.opts.tls ? { connect: (host: string, port: number) => dialMailbox(host, port, this.clientTls()) } : {}),
      onFrame: (from, frame, reply) => this.onPeerFrame(from, frame, reply),
      onReject: (code, reason, source, reply) => this.rejectPeer(code, reason, source, reply),
      onCount: (counter, reason, source) => this.refused(counter, reason, source),
    });
    this.syncTransportPeers();
    this.events.record({ event: this.recovering ? 'recovering' : 'start', term: this.term, role: this.role, leader: null });

    this.tickTimer = setInterval(() => this.onTick(), this.profile.tickMs);
    this.schedule();
    if (this.joining) void this.joinLoop();
    return { port: Number(this.selfAddr.split(':').pop()), addr: this.selfAddr, recovered: this.recovering };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    for (const p of this.proposals.values()) {
      clearTimeout(p.timer);
      p.onResult({ error: 'SHUTTING_DOWN', reason: 'node is stopping; outcome unknown, retry with the same reqId' });
    }
    this.proposals.clear();
    for (const r of this.reads.values()) {
      clearTimeout(r.timer);
      r.reply({ op: 'REPLY', corr: r.req.corr, ok: false, code: 'SHUTTING_DOWN', reason: 'node is stopping' });
    }
    this.reads.clear();
    this.events?.record({ event: 'stop', term: this.term, role: this.role, leader: this.leader });
    this.transport?.close();
    for (const s of this.clients) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.flushDeferredHard();
    this.storage.close();
  }

  rejectCounts(): Record<string, number> {
    return this.rejects.snapshot();
  }

  /** Role, term and commit index, for /metrics. */
  status(): { role: Role; term: number; commit: number } {
    const st = this.raft?.status();
    return { role: this.role, term: this.term, commit: st?.commit ?? 0 };
  }

  /** Counts a refusal (STATS.rejects) and notes it in the event log, at most once per code every 5 s. */
  private refused(counter: string, reason: string, source: string): void {
    this.rejects.count(counter, reason);
    const now = Date.now();
    if ((this.lastRefusalEvent.get(counter) ?? 0) > now - 5000) return;
    this.lastRefusalEvent.set(counter, now);
    this.events?.record({ event: 'refused', term: this.term, role: this.role, leader: this.leader, detail: `${counter} from ${source}: ${reason}`.slice(0, 300) });
  }

  // ---------- storage ----------

  private openStorage(): RestoredState {
    const sync = this.opts.sync ?? 'full';
    try {
      this.storage = new MailboxStorage(this.opts.dataDir, sync);
      return this.loadRestored();
    } catch (err) {
      if (!(err instanceof StorageCorruptError)) throw err;
      // Never serve from a damaged file: set it aside and rejoin as an empty learner, to be
      // re-synced from the leader (DATA_SYNC); no votes until promoted again.
      try {
        this.storage?.close();
      } catch {
        /* already closed */
      }
      const stamp = Date.now();
      for (const suffix of ['', '-wal', '-shm']) {
        const f = join(this.opts.dataDir, `mailbox.sqlite${suffix}`);
        if (existsSync(f)) renameSync(f, `${f}.corrupt-${stamp}`);
      }
      process.stderr.write(`mailbox node ${this.opts.id}: storage corrupt (${err.message}); quarantined, re-syncing from the leader\n`);
      this.recovering = true;
      this.storage = new MailboxStorage(this.opts.dataDir, sync);
      return this.loadRestored();
    }
  }

  private loadRestored(): RestoredState {
    try {
      const hs: HardState = this.storage.loadHardState() ?? { term: 0, vote: null, commit: 0 };
      const snapRow = this.storage.loadSnapshot();
      const snapshot = snapRow ? restoredSnapshot(snapRow) : undefined;
      const after = snapshot?.index ?? 0;
      const entries = this.storage
        .loadEntries(after + 1)
        .map((e) => JSON.parse(e.json) as Entry);
      let expect = after + 1;
      for (const e of entries) {
        if (e.index !== expect) throw new StorageCorruptError(`log gap at ${expect} (found ${e.index})`);
        expect++;
      }
      const lastIndex = after + entries.length;
      if (hs.commit > lastIndex) throw new StorageCorruptError(`commit ${hs.commit} beyond last index ${lastIndex}`);
      if (snapshot) {
        this.machine.restore(snapshot.data);
        this.lastSnapshotBytes = snapshot.data.length;
      }
      this.applied = after;
      this.snapshotIndex = after;
      return { hardState: hs, entries, snapshot, applied: after };
    } catch (err) {
      if (err instanceof StorageCorruptError) throw err;
      throw new StorageCorruptError(err instanceof Error ? err.message : String(err));
    }
  }

  // ---------- Raft loop ----------

  private onTick(): void {
    this.flushDeferredHard();
    this.raft.tick();
    this.ticks++;
    this.maybeSnapshot(this.applied === this.appliedAtLastTick);
    this.appliedAtLastTick = this.applied;
    if (this.role === 'leader') {
      if (this.ticks % 10 === 0) this.promoteCaughtUpLearners();
      if (this.ticks % 20 === 0) this.broadcastClusterUpdate();
      if (this.ticks % 20 === 0) this.proposeExpiry();
    }
    this.schedule();
  }

  /** Writes a held-back commit index (without an fsync: losing it only lowers the restored commit). */
  private flushDeferredHard(): void {
    if (!this.deferredHard) return;
    const hardState = this.deferredHard;
    this.deferredHard = undefined;
    this.storage.persist([{ hardState }], { durable: false });
  }

  /** Coalesces all work of this event-loop turn into one Ready drain (one transaction). */
  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.stopped) this.drainReady();
    });
  }

  private drainReady(): void {
    const readies: Ready[] = [];
    while (this.raft.hasReady()) {
      const rd = this.raft.ready();
      readies.push(rd);
      this.raft.advance(rd);
      if (readies.length > 1000) break;
    }
    if (readies.length === 0) return;
    // A leader's REPLICATE/HEARTBEAT may leave before its own log is durable (Raft thesis 10.2.1,
    // as etcd does): followers fsync in parallel, and the leader cannot count itself towards a
    // commit before this synchronous write returns. Everything else — votes, acknowledgements,
    // client answers — waits for durability.
    const early = new Set<RaftMessage>();
    for (const rd of readies) {
      // only in a term that is already durable (this.term is updated after each persist)
      if (rd.softState.role !== 'leader' || (rd.hardState !== undefined && rd.hardState.term !== this.term)) continue;
      for (const m of rd.messages) if (m.type === 'REPLICATE' || m.type === 'HEARTBEAT') early.add(m);
    }
    if (early.size > 0) {
      for (const m of early) this.sendRaft(m);
      this.transport.flush();
    }
    // Durable (one fsync in 'full' mode for the whole batch: group commit) when it must be, as
    // etcd's MustSync decides: new entries, a snapshot, or a new term or vote. A hard state whose
    // only change is the commit index is not written now, not even beside entries: losing it in a
    // crash only lowers the restored commit index, which the leader raises again, and everything
    // committed was already durable on a majority before it counted as committed. It is held back
    // and written (without an fsync) by the next tick, or with the next new term or vote. So no
    // write sits between a majority's acknowledgement and the reply, and a follower's write per
    // REPLICATE is its log page alone.
    let hasData = false;
    let newVote = false;
    let lastHard: HardState | undefined;
    for (const rd of readies) {
      if (rd.entries.length > 0 || rd.snapshot) hasData = true;
      if (!rd.hardState) continue;
      lastHard = rd.hardState;
      if (rd.hardState.term !== this.syncedHard.term || rd.hardState.vote !== this.syncedHard.vote) newVote = true;
    }
    const batches: PersistBatch[] = readies.map((rd) => ({
      hardState: newVote ? rd.hardState : undefined,
      snapshot: rd.snapshot ? storedSnapshot(rd.snapshot) : undefined,
      replaceLog: rd.snapshot !== undefined,
      entries: rd.entries.map((e) => ({ index: e.index, term: e.term, json: JSON.stringify(e) })),
    }));
    if (newVote) {
      // every batch's hard state is newer than one held back, and complete: it supersedes it
      this.deferredHard = undefined;
      this.storage.persist(batches, { durable: true });
      if (lastHard) this.syncedHard = { term: lastHard.term, vote: lastHard.vote };
    } else {
      if (lastHard) this.deferredHard = lastHard;
      if (hasData) this.storage.persist(batches, { durable: true });
    }
    // What others wait for leaves first: acknowledgements and votes now that they are durable,
    // then the client answers as soon as the entries are applied. (Both used to wait for the
    // end of the turn, behind the follower's apply and the leader's bookkeeping.)
    for (const rd of readies) for (const m of rd.messages) if (!early.has(m)) this.sendRaft(m);
    this.transport.flush();
    this.draining = true;
    try {
      for (const rd of readies) this.handleReady(rd);
    } finally {
      this.draining = false;
      this.flushReplies();
    }
    this.maybeSnapshot(false);
    if (this.raft.hasReady()) this.schedule();
  }

  /** Sends the client answers written during a drain now instead of at the end of the turn. */
  private flushReplies(): void {
    for (const socket of this.repliesWritten) {
      if (!socket.destroyed) while (socket.writableCorked > 0) socket.uncork();
    }
    this.repliesWritten.clear();
  }

  /** Applies a persisted Ready (its messages have been sent by drainReady). */
  private handleReady(rd: Ready): void {
    if (rd.hardState) this.term = rd.hardState.term;
    this.onSoftState(rd.softState.role, rd.softState.leader ?? null);
    if (rd.snapshot) {
      this.machine.restore(rd.snapshot.data);
      this.applied = rd.snapshot.index;
      this.snapshotIndex = rd.snapshot.index;
      this.lastSnapshotBytes = rd.snapshot.data.length;
      this.bytesSinceSnapshot = 0;
      this.syncTransportPeers();
    }
    if (rd.entries.some((e) => e.type === 'config')) this.syncTransportPeers();
    for (const e of rd.committed) this.applyEntry(e);
    for (const rs of rd.readStates) {
      const r = this.reads.get(rs.ctx);
      if (r) r.index = rs.index;
    }
    for (const ctx of rd.abortedReads) {
      const r = this.reads.get(ctx);
      if (!r) continue;
      this.reads.delete(ctx);
      clearTimeout(r.timer);
      r.reply(this.notLeader(r.req.corr, 'leadership lost before the read was confirmed'));
    }
    this.serveReadyReads();
  }

  private onSoftState(role: Role, leader: string | null): void {
    const st = this.raft.status();
    this.term = st.term;
    if (role !== this.role || leader !== this.leader) {
      const wasLeader = this.role === 'leader';
      this.role = role;
      this.leader = leader;
      this.events.record({ event: 'role', term: st.term, role, leader });
      if (wasLeader && role !== 'leader') this.failPending('UNAVAILABLE', 'leadership lost; outcome unknown, retry with the same reqId');
      if (role === 'leader') this.broadcastClusterUpdate();
    }
    if (this.recovering && !this.joining && st.voters.includes(this.id) && this.applied > 0) {
      this.recovering = false;
      this.storage.persist([{ meta: { needsRejoin: '0' } }]);
      this.events.record({ event: 'member', term: st.term, role, leader, detail: 'recovered' });
    }
  }

  private failPending(code: MailboxErrorCode, reason: string): void {
    for (const [index, p] of this.proposals) {
      clearTimeout(p.timer);
      p.onResult({ error: code, reason });
      this.proposals.delete(index);
    }
  }

  private applyEntry(e: Entry): void {
    if (e.index <= this.applied) return;
    this.applied = e.index;
    this.bytesSinceSnapshot += e.data.length;
    let result: MachineResult | null = this.machine.apply(e);
    if (e.type === 'config') {
      const cfg = decodeConfigEntry(e.data);
      if (cfg) {
        this.syncTransportPeers();
        this.events.record({ event: 'member', term: this.term, role: this.role, leader: this.leader, detail: `${cfg.change.type} ${cfg.change.node}` });
        if (this.role === 'leader') this.broadcastClusterUpdate();
      }
      result = { ok: true };
    }
    const p = this.proposals.get(e.index);
    if (!p) return;
    this.proposals.delete(e.index);
    clearTimeout(p.timer);
    if (p.term !== e.term) {
      // Another leader's entry took this slot: ours was never committed and never will be.
      p.onResult({ error: 'UNAVAILABLE', reason: 'proposal was superseded by a new leader; retry with the same reqId' });
      return;
    }
    p.onResult(result ?? { ok: true });
  }

  /** Compacts the log into a snapshot once due (snapshot-policy.ts); `idle`: nothing applied for a tick. */
  private maybeSnapshot(idle: boolean): void {
    const progress = { entries: this.applied - this.snapshotIndex, bytes: this.bytesSinceSnapshot, lastImageBytes: this.lastSnapshotBytes };
    if (!snapshotDue(progress, this.opts.snapshotEvery ?? 5000, idle)) return;
    const data = this.machine.snapshot();
    const snap = this.raft.compact(this.applied, data);
    if (!snap) return;
    this.storage.persist([{ snapshot: storedSnapshot(snap) }]);
    this.snapshotIndex = snap.index;
    this.lastSnapshotBytes = data.length;
    this.bytesSinceSnapshot = 0;
  }

  private sendRaft(m: RaftMessage): void {
    // Without its old vote record a recovering node must not campaign (PreVote keeps its term).
    if (this.recovering && m.type === 'ELECTION_REQUEST') return;
    this.transport.send(m.to, { ...m, clusterId: this.clusterId });
  }

  // ---------- membership / addresses ----------

  private syncTransportPeers(): void {
    const st = this.raft.status();
    const members = new Set([...st.voters, ...st.learners]);
    // Links are dialed by the smaller id: a joiner with no configuration yet must dial the
    // nodes it knows of, or a leader with a larger id could never reach it.
    const targets = new Set([...members, ...this.pinnedDial.keys(), ...(members.size === 0 ? this.advertised.keys() : [])]);
    for (const id of targets) {
      if (id === this.id) continue;
      this.transport.setPeer(id, this.pinnedDial.get(id) ?? this.advertised.get(id) ?? null);
    }
    for (const id of this.transport.peers()) if (!targets.has(id)) this.transport.removePeer(id);
    this.saveAdvertised();
  }

  private saveAdvertised(): void {
    this.storage.persist([{ meta: { advertised: JSON.stringify(Object.fromEntries(this.advertised)) } }]);
  }

  /** Where clients should reach `id`: its own announced address, else the configured one. */
  private clientAddr(id: string): string | null {
    return this.advertised.get(id) ?? this.pinnedDial.get(id) ?? null;
  }

  /** Gossip carries only announced addresses (a configured one may be a test proxy of one link). */
  private members(forGossip = false): Member[] {
    const st = this.raft.status();
    const addr = (id: string): string | null => (forGossip ? (this.advertised.get(id) ?? null) : this.clientAddr(id));
    return [
      ...st.voters.map((id) => ({ id, addr: addr(id), role: 'voter' as const })),
      ...st.learners.map((id) => ({ id, addr: addr(id), role: 'learner' as const })),
    ];
  }

  private broadcastClusterUpdate(): void {
    const members = this.members(true);
    for (const m of members) {
      if (m.id === this.id) continue;
      this.transport.send(m.id, { type: 'CLUSTER_UPDATE', clusterId: this.clusterId, from: this.id, to: m.id, term: this.term, members });
    }
  }

  private promoteCaughtUpLearners(): void {
    const st = this.raft.status();
    if (!st.progress) return;
    for (const l of st.learners) {
      const pr = st.progress[l];
      if (!pr || pr.match < st.commit) continue;
      this.raft.proposeConfChange({ type: 'promoteLearner', node: l });
      this.schedule();
      return; // one change at a time
    }
  }

  /** A fresh or recovering node asks the cluster to add it as a learner until it succeeds. */
  private async joinLoop(): Promise<void> {
    const seeds = [...(this.opts.join ?? []), ...this.opts.peers.map((p) => p.addr)];
    let i = 0;
    while (!this.stopped && this.joining) {
      const st = this.raft.status();
      // A recovering node's restored configuration may still list it from before it lost its
      // state: only the leader's answer (removed, then added back as a learner) counts.
      if (!this.recovering && (st.learners.includes(this.id) || st.voters.includes(this.id))) break;
      let target: string | undefined = seeds[i++ % seeds.length];
      for (let hop = 0; hop < 4 && target && !this.stopped && this.joining; hop++) {
        const conn = new RequestConnection(target, 2000, this.clientTls());
        try {
          const fields = { clusterId: this.clusterId, op: 'JOIN_CLUSTER', nodeId: this.id, addr: this.selfAddr };
          const auth = this.key ? proveAdmin(this.key, fields) : undefined;
          const reply = await conn.request({ op: 'JOIN_CLUSTER', clusterId: this.clusterId, nodeId: this.id, addr: this.selfAddr, auth }, 3000);
          if (reply.ok) {
            for (const m of (reply.members as Member[] | undefined) ?? []) {
              if (m.addr && m.id !== this.id && !this.advertised.has(m.id)) this.advertised.set(m.id, m.addr);
            }
            this.joining = false; // a learner now; the leader promotes it once caught up
            this.syncTransportPeers();
          } else {
            const hint = reply.leader as { addr?: unknown } | null | undefined;
            target = reply.code === 'NOT_LEADER' && hint && typeof hint.addr === 'string' ? hint.addr : undefined;
          }
        } catch {
          target = undefined;
        } finally {
          conn.close();
        }
      }
      if (this.joining) await new Promise((r) => setTimeout(r, 300));
    }
    this.joining = false;
  }

  // ---------- peer frames ----------

  private onPeerFrame(linkPeer: string, frame: PeerFrame, reply: Reply): void {
    if (frame.type === 'REJECT') {
      this.rejects.count(`PEER_SENT_${frame.code}`, frame.reason);
      return;
    }
    if (frame.clusterId !== this.clusterId) {
      this.rejectPeer('WRONG_CLUSTER', `cluster ${frame.clusterId} is not ${this.clusterId}`, linkPeer, reply);
      return;
    }
    if (frame.from !== linkPeer || frame.to !== this.id) {
      this.rejectPeer('SCHEMA', `frame from ${frame.from} to ${frame.to} on the link ${linkPeer}->${this.id}`, linkPeer, reply);
      return;
    }
    const st = this.raft.status();
    const members = new Set([...st.voters, ...st.learners]);
    // An empty configuration is a joiner waiting for its first REPLICATE / DATA_SYNC.
    const isMember = members.size === 0 || members.has(frame.from);
    if (frame.type === 'CLUSTER_UPDATE') {
      if (!isMember) return this.rejectPeer('NOT_MEMBER', `${frame.from} is not a member`, linkPeer, reply);
      let changed = false;
      for (const m of frame.members) {
        if (m.addr && m.id !== this.id && this.advertised.get(m.id) !== m.addr) {
          this.advertised.set(m.id, m.addr);
          changed = true;
        }
      }
      if (changed) this.syncTransportPeers();
      return;
    }
    const { clusterId: _cluster, ...msg } = frame;
    if (REQUEST_TYPES.has(msg.type) && msg.term < st.term && !(msg.type === 'ELECTION_REQUEST' && msg.preVote)) {
      this.rejectPeer('STALE_TERM', `${msg.type} for term ${msg.term} < current term ${st.term}`, linkPeer, reply, st.term);
      if (!isMember) return;
      // The core still sees it, so it answers with its higher term and the stale sender steps down.
    } else if (!isMember) {
      // e.g. a removed node that missed its removal: it must not disrupt elections
      return this.rejectPeer('NOT_MEMBER', `${frame.from} is not a member`, linkPeer, reply);
    }
    if (this.recovering && msg.type === 'ELECTION_REQUEST') return; // our old vote was lost with the file
    if (msg.type === 'DATA_SYNC_REQUEST' && (msg.term !== st.term || st.leader !== frame.from) && members.size > 0) {
      // Only the leader we follow in this term may replace our state (it resends after an
      // election timeout, by which time its heartbeats have made it our leader).
      return this.rejectPeer('NOT_LEADER', `snapshot from ${frame.from} at term ${msg.term}: the leader of term ${st.term} is ${st.leader ?? 'unknown'}`, linkPeer, reply);
    }
    if (msg.type === 'DATA_SYNC_REQUEST' && !QueueMachine.isValidImage(msg.snapshot.data)) {
      return this.rejectPeer('SCHEMA', 'DATA_SYNC snapshot is not a valid queue-state image', linkPeer, reply);
    }
    const raftMessage: RaftMessage = msg; // compile-time check: wire schema == core message types
    this.raft.step(raftMessage);
    this.schedule();
  }

  private rejectPeer(code: MailboxErrorCode, reason: string, source: string, reply?: Reply, term?: number): void {
    this.refused(code, reason, source);
    reply?.({ type: 'REJECT', clusterId: this.clusterId, code, reason, ...(term === undefined ? {} : { term }) });
  }

  // ---------- client side ----------

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createMailboxServer((socket) => this.onConnection(socket), this.opts.tls);
      // a failed TLS handshake (plain TCP, a client that distrusts us, garbage) never becomes a connection
      server.on('tlsClientError', (err: Error, socket: net.Socket) => {
        this.refused('TLS_HANDSHAKE', err.message, `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`);
      });
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host ?? '127.0.0.1', () => {
        const a = server.address() as net.AddressInfo;
        this.selfAddr = `${this.opts.host ?? '127.0.0.1'}:${a.port}`;
        this.server = server;
        resolve();
      });
    });
  }

  private clientTls(): MailboxTlsClientOptions | undefined {
    const t = this.opts.tls;
    return t ? (t.ca ? { ca: t.ca } : {}) : undefined;
  }

  private onConnection(socket: net.Socket): void {
    socket.setNoDelay(true);
    const source = `client ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    if (this.clients.size >= MAX_CLIENT_CONNECTIONS) {
      this.refused('CONNECTION_CAP', `${MAX_CLIENT_CONNECTIONS} client connections open`, source);
      socket.destroy();
      return;
    }
    this.clients.add(socket);
    // The first frame decides: PEER_HELLO starts the broker handshake, anything else makes this a
    // client. Either way it is held to the client frame cap until it has proved the cluster key.
    const decoder = new FrameDecoder(MAX_CLIENT_FRAME_BYTES);
    let decided = false;
    let inflight = 0;
    const send: Reply = (frame) => {
      if (socket.destroyed) return;
      writeFrame(socket, frame);
      if (this.draining) this.repliesWritten.add(socket);
      if (socket.writableLength > MAX_CLIENT_OUTPUT_BYTES) {
        // It sends requests but doesn't read the answers: don't buffer them for it.
        this.refused('SLOW_READER', `${socket.writableLength} bytes of replies unread (cap ${MAX_CLIENT_OUTPUT_BYTES})`, source);
        socket.destroy();
      }
    };
    const onData = (chunk: Buffer): void => {
      const events = decoder.push(chunk);
      for (let step = events.next(); !step.done; step = events.next()) {
        if (socket.destroyed) return;
        const ev = step.value;
        if (!decided) {
          decided = true;
          if (ev.kind === 'frame' && (ev.value as { type?: unknown } | null)?.type === 'PEER_HELLO') {
            socket.off('data', onData);
            this.clients.delete(socket);
            this.onPeerHello(ev.value, socket, decoder, events, send);
            return;
          }
        }
        if (ev.kind === 'oversize' && ev.bytes > MAX_CLIENT_SKIP_BYTES) {
          this.rejectClient(null, 'OVERSIZE', `frame of ${ev.bytes} bytes exceeds ${MAX_CLIENT_FRAME_BYTES}; closing the connection`, send);
          socket.end();
          setTimeout(() => socket.destroy(), 1000).unref();
          return;
        }
        if (ev.kind === 'frame' && looksLikePeerFrame(ev.value)) {
          this.rejectClient(null, 'UNAUTHENTICATED', 'broker frames are accepted only on a link that passed the cluster-key handshake', send);
          continue;
        }
        if (inflight >= MAX_CLIENT_INFLIGHT) {
          this.rejectClient(corrOf(ev), 'OVERLOADED', `${MAX_CLIENT_INFLIGHT} requests already await replies on this connection: read them before sending more`, send);
          continue;
        }
        inflight++;
        let answered = false;
        this.onClientEvent(ev, (frame) => {
          if (answered) return;
          answered = true;
          inflight--;
          send(frame);
        }, source);
      }
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.clients.delete(socket));
  }

  private onPeerHello(raw: unknown, socket: net.Socket, decoder: FrameDecoder, rest: Iterator<FrameEvent>, reply: Reply): void {
    const hello = parsePeerHello(raw);
    if (!hello.ok || hello.value.clusterId !== this.clusterId || hello.value.to !== this.id || hello.value.from === this.id) {
      const code: MailboxErrorCode = !hello.ok ? hello.code : hello.value.clusterId !== this.clusterId ? 'WRONG_CLUSTER' : 'SCHEMA';
      const reason = hello.ok ? `hello for cluster ${hello.value.clusterId} node ${hello.value.to}` : hello.reason;
      this.rejectPeer(code, reason, `inbound ${socket.remoteAddress ?? '?'}`, reply);
      socket.end();
      return;
    }
    const claimed = hello.value;
    // Its announced address is believed only once the link is authenticated.
    this.transport.acceptHello(claimed, socket, decoder, rest, () => {
      if (claimed.addr) this.advertised.set(claimed.from, claimed.addr);
    });
  }

  private onClientEvent(ev: FrameEvent, reply: Reply, source: string): void {
    if (ev.kind === 'oversize') return this.rejectClient(null, 'OVERSIZE', `frame of ${ev.bytes} bytes exceeds ${MAX_CLIENT_FRAME_BYTES}`, reply);
    if (ev.kind === 'bad_json') return this.rejectClient(null, 'BAD_JSON', ev.reason, reply);
    if (ev.kind === 'bad_mac') return this.rejectClient(null, 'UNAUTHENTICATED', 'MAC on a client connection', reply);
    const corr = corrOf(ev);
    const parsed = parseClientRequest(ev.value);
    if (!parsed.ok) return this.rejectClient(corr, parsed.code, parsed.reason, reply);
    const req = parsed.value;
    if (req.clusterId !== undefined && req.clusterId !== this.clusterId) {
      return this.rejectClient(req.corr, 'WRONG_CLUSTER', `cluster ${req.clusterId} is not ${this.clusterId}`, reply);
    }
    if (req.op === 'JOIN_CLUSTER' || req.op === 'LEAVE_CLUSTER') {
      if (!this.admin) {
        return this.rejectClient(req.corr, 'FORBIDDEN', `${req.op}: this mailbox node runs without a cluster key (--cluster-key FILE), so its membership can't change`, reply, source);
      }
      const fields = { clusterId: this.clusterId, op: req.op, nodeId: req.nodeId, addr: req.op === 'JOIN_CLUSTER' ? req.addr : null };
      const check = this.admin.check(fields, req.auth);
      if (!check.ok) return this.rejectClient(req.corr, 'UNAUTHENTICATED', check.reason, reply, source);
    }
    this.handleClient(req, reply);
  }

  private rejectClient(corr: number | null, code: MailboxErrorCode, reason: string, reply: Reply, source = 'a client'): void {
    this.refused(code, reason, source);
    reply({ op: 'REPLY', corr, ok: false, code, reason, clusterId: this.clusterId });
  }

  private ok(corr: number, body: Record<string, unknown> = {}): Record<string, unknown> {
    return { op: 'REPLY', corr, ok: true, clusterId: this.clusterId, ...body };
  }

  private err(corr: number, code: MailboxErrorCode, reason: string): Record<string, unknown> {
    return { op: 'REPLY', corr, ok: false, code, reason, clusterId: this.clusterId };
  }

  private notLeader(corr: number, reason = 'not the leader'): Record<string, unknown> {
    const leader = this.leader && this.leader !== this.id ? { id: this.leader, addr: this.clientAddr(this.leader) } : null;
    return { op: 'REPLY', corr, ok: false, code: 'NOT_LEADER', reason, leader, clusterId: this.clusterId };
  }

  /** Expired inbox messages leave every replica through the log, stamped with the leader's clock. */
  private proposeExpiry(): void {
    const now = Date.now();
    if (!this.machine.hasExpired(now)) return;
    const encoded = this.machine.encode({ op: 'EXPIRE', at: now });
    if (encoded.ok && this.raft.propose(encoded.data).ok) this.schedule();
  }

  private handleClient(req: ClientRequest, reply: Reply): void {
    if (this.stopped) return reply(this.err(req.corr, 'SHUTTING_DOWN', 'node is stopping'));
    if ((req.op === 'APPEND' || req.op === 'READ' || req.op === 'ACK') && isInboxName(req.queue)) return this.handleInbox(req, reply);
    switch (req.op) {
      case 'CLUSTER_QUERY': {
        const leader = this.leader ? { id: this.leader, addr: this.clientAddr(this.leader) } : null;
        return reply(this.ok(req.corr, { nodeId: this.id, term: this.term, leader, members: this.members() }));
      }
      case 'STATS':
        return reply(
          this.ok(req.corr, { nodeId: this.id, rejects: this.rejects.snapshot(), role: this.role, term: this.term, storage: { ...this.storage.counters } }),
        );
      case 'CREATE_QUEUE':
        return this.proposeCommand(req.corr, { op: 'CREATE_QUEUE', queue: req.queue }, reply, (r) =>
          'error' in r ? this.err(req.corr, r.error, r.reason) : this.ok(req.corr),
        );
      case 'APPEND':
        return this.proposeCommand(req.corr, { op: 'APPEND', queue: req.queue, data: req.data, reqId: req.reqId, clientId: req.clientId ?? 'anonymous' }, reply, (r) =>
          'error' in r ? this.err(req.corr, r.error, r.reason) : this.ok(req.corr, { seq: r.seq ?? 0 }),
        );
      case 'ACK':
        return this.proposeCommand(req.corr, { op: 'ACK', queue: req.queue, reader: req.clientId, seq: req.seq }, reply, (r) =>
          'error' in r ? this.err(req.corr, r.error, r.reason) : this.ok(req.corr),
        );
      case 'READ':
        return this.startRead(req, reply);
      case 'JOIN_CLUSTER':
        return this.handleJoin(req, reply);
      case 'LEAVE_CLUSTER':
        return this.proposeConf(req.corr, { type: 'removeNode', node: req.nodeId }, reply);
    }
  }

  /** inbox:{userId}: anyone deposits (signed, rate- and size-capped), only the owner reads and ACKs. */
  private handleInbox(req: Extract<ClientRequest, { op: 'APPEND' | 'READ' | 'ACK' }>, reply: Reply): void {
    // Followers redirect before checking, so a refusal is counted once, by the leader.
    if (this.role !== 'leader') return reply(this.notLeader(req.corr));
    const admitted = admitInbox(req, this.inboxLimits, this.depositRate, Date.now());
    if (!admitted.ok) return this.rejectClient(req.corr, admitted.code, admitted.reason, reply);
    if (admitted.cmd === null) return this.startRead(req as Extract<ClientRequest, { op: 'READ' }>, reply);
    this.proposeCommand(req.corr, admitted.cmd, reply, (r) => {
      if ('error' in r) {
        if (r.error === 'QUEUE_FULL') this.rejects.count('QUEUE_FULL', 'queue at its cap');
        return this.err(req.corr, r.error, r.reason);
      }
      return req.op === 'APPEND' ? this.ok(req.corr, { seq: r.seq ?? 0 }) : this.ok(req.corr);
    });
  }

  private proposeCommand(
    corr: number,
    cmd: MachineCommand,
    reply: Reply,
    render: (r: MachineResult | { error: MailboxErrorCode; reason: string }) => Record<string, unknown>,
  ): void {
    const encoded = this.machine.encode(cmd);
    if (!encoded.ok) return this.rejectClient(corr, 'SCHEMA', encoded.reason, reply);
    if (this.role !== 'leader') return reply(this.notLeader(corr));
    const bytes = encoded.data.length;
    if (this.proposals.size >= MAX_PENDING_PROPOSALS || this.pendingProposalBytes + bytes > MAX_PENDING_PROPOSAL_BYTES) {
      return this.rejectClient(corr, 'OVERLOADED', `${this.proposals.size} writes (${this.pendingProposalBytes} bytes) await commit: retry shortly`, reply);
    }
    const res = this.raft.propose(encoded.data);
    if (!res.ok) return reply(res.reason === 'NOT_LEADER' ? this.notLeader(corr) : this.err(corr, 'UNAVAILABLE', res.reason));
    this.pendingProposalBytes += bytes;
    // every way out of `proposals` (commit, supersede, timeout, leadership loss, stop) calls onResult once
    this.track(res.index, res.term, corr, reply, (r) => {
      this.pendingProposalBytes -= bytes;
      reply(render(r));
    });
    this.schedule();
  }

  private proposeConf(corr: number, cc: ConfChange, reply: Reply, onOk?: () => Record<string, unknown>): void {
    if (this.role !== 'leader') return reply(this.notLeader(corr));
    const res = this.raft.proposeConfChange(cc);
    if (!res.ok) {
      return reply(res.reason === 'NOT_LEADER' ? this.notLeader(corr) : this.err(corr, 'UNAVAILABLE', `${res.reason}: retry later`));
    }
    this.track(res.index, res.term, corr, reply, (r) =>
      reply('error' in r ? this.err(corr, r.error, r.reason) : (onOk?.() ?? this.ok(corr, { members: this.members() }))),
    );
    this.schedule();
  }

  private track(index: number, term: number, corr: number, reply: Reply, onResult: PendingProposal['onResult']): void {
    const timer = setTimeout(() => {
      if (this.proposals.get(index)?.corr !== corr) return;
      this.proposals.delete(index);
      onResult({ error: 'TIMEOUT', reason: 'not committed in time; outcome unknown, retry with the same reqId' });
    }, this.profile.opTimeoutMs);
    this.proposals.set(index, { term, reply, corr, onResult, timer });
  }

  private handleJoin(req: Extract<ClientRequest, { op: 'JOIN_CLUSTER' }>, reply: Reply): void {
    if (this.role !== 'leader') return reply(this.notLeader(req.corr));
    this.advertised.set(req.nodeId, req.addr);
    this.saveAdvertised();
    const st = this.raft.status();
    if (st.learners.includes(req.nodeId)) return reply(this.ok(req.corr, { members: this.members() }));
    if (st.voters.includes(req.nodeId)) {
      // A voter asking to join again lost its state: take it out first, then add it back as a learner.
      return this.proposeConf(req.corr, { type: 'removeNode', node: req.nodeId }, reply, () =>
        this.err(req.corr, 'UNAVAILABLE', 'removed the stale member; join again to be added as a learner'),
      );
    }
    this.proposeConf(req.corr, { type: 'addLearner', node: req.nodeId }, reply);
  }

  private startRead(req: Extract<ClientRequest, { op: 'READ' }>, reply: Reply): void {
    if (this.role !== 'leader') return reply(this.notLeader(req.corr));
    if (this.reads.size >= MAX_PENDING_READS) return this.rejectClient(req.corr, 'OVERLOADED', `${this.reads.size} reads await confirmation: retry shortly`, reply);
    const ctx = randomUUID();
    const res = this.raft.readIndex(ctx);
    if (!res.ok) return reply(this.notLeader(req.corr));
    const timer = setTimeout(() => {
      if (!this.reads.delete(ctx)) return;
      reply(this.err(req.corr, 'TIMEOUT', 'leadership not confirmed in time'));
    }, this.profile.opTimeoutMs);
    this.reads.set(ctx, { req, reply, index: null, timer });
    this.schedule();
  }

  private serveReadyReads(): void {
    for (const [ctx, r] of this.reads) {
      if (r.index === null || r.index > this.applied) continue;
      this.reads.delete(ctx);
      clearTimeout(r.timer);
      const result = this.machine.read(r.req.queue, r.req.clientId);
      if ('error' in result) r.reply(this.err(r.req.corr, result.error, result.reason));
      else if (result.empty) r.reply(this.ok(r.req.corr, { empty: true }));
      else r.reply(this.ok(r.req.corr, { seq: result.seq, data: result.data }));
    }
  }
}
