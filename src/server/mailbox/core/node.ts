import { applyConfChange, decodeConfigEntry, encodeConfigEntry, quorum, type Membership } from './config';
import { RaftLog } from './log';
import type {
  ConfChange, DataSyncRequest, ElectionRequest, ElectionResponse, Entry, HardState, Heartbeat, HeartbeatResponse,
  NodeId, PeerProgress, ProposeResult, RaftConfig, RaftMessage, RaftStatus, ReadIndexResult, ReadState, Ready,
  Replicate, ReplicateResponse, Role, Snapshot, SoftState,
} from './types';

type State = 'follower' | 'precandidate' | 'candidate' | 'leader';

interface Progress {
  match: number;
  next: number;
  state: 'probe' | 'replicate' | 'snapshot';
  /** probe: one REPLICATE outstanding, wait for an answer or a heartbeat response */
  paused: boolean;
  recentActive: boolean;
  /** snapshot state: ticks since the snapshot was sent (resent after an election timeout) */
  snapshotElapsed: number;
}

interface PendingRead {
  ctx: string;
  index: number;
  acks: Set<NodeId>;
}

type Outgoing<M extends RaftMessage> = M extends RaftMessage ? Omit<M, 'from' | 'term'> & { term?: number } : never;

const MAX_INFLIGHT_MSGS = 64;

/**
 * Deterministic Raft state machine (no I/O, no clock, no ambient randomness), modelled on etcd/raft.
 * See types.ts for the Ready contract the host must follow.
 */
export class RaftNode {
  readonly id: NodeId;
  private readonly electionMin: number;
  private readonly electionMax: number;
  private readonly heartbeatTicks: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly random: () => number;
  private readonly maxEntriesPerMsg: number;
  private readonly maxBytesPerMsg: number;
  private readonly bootstrap: Membership;

  private term = 0;
  private vote: NodeId | null = null;
  private state: State = 'follower';
  private leader: NodeId | undefined;
  private readonly log: RaftLog;
  private membership: Membership;

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private votes = new Map<NodeId, boolean>();
  private progress = new Map<NodeId, Progress>();
  private leadTransferee: NodeId | undefined;
  private transferElapsed = 0;

  private msgs: RaftMessage[] = [];
  private appendsPending = false;
  private readBeatPending = false;
  private readStates: ReadState[] = [];
  private abortedReads: string[] = [];
  private pendingReads: PendingRead[] = [];
  /** ReadIndex requests waiting for the leader's first commit in its term */
  private waitingReads: string[] = [];

  private prevHardState: HardState;
  private prevSoftState: SoftState;

  constructor(cfg: RaftConfig) {
    this.id = cfg.id;
    const [min, max] = cfg.electionTicks;
    if (!(min >= 1 && max >= min)) throw new Error('electionTicks must be [min >= 1, max >= min]');
    if (!(cfg.heartbeatTicks >= 1 && cfg.heartbeatTicks < min)) throw new Error('heartbeatTicks must be >= 1 and < electionTicks[0]');
    this.electionMin = min;
    this.electionMax = max;
    this.heartbeatTicks = cfg.heartbeatTicks;
    this.preVote = cfg.preVote;
    this.checkQuorum = cfg.checkQuorum;
    this.random = cfg.random;
    this.maxEntriesPerMsg = Math.max(1, cfg.maxEntriesPerMsg ?? 64);
    this.maxBytesPerMsg = Math.max(1, cfg.maxBytesPerMsg ?? 1 << 20);
    this.bootstrap = { voters: [...cfg.voters].sort(), learners: [...(cfg.learners ?? [])].sort() };

    const r = cfg.restored;
    this.log = new RaftLog(r?.snapshot, r?.entries ?? []);
    if (r) {
      this.term = r.hardState.term;
      this.vote = r.hardState.vote;
      this.log.commitTo(Math.min(r.hardState.commit, this.log.lastIndex()));
      if (r.applied !== undefined) {
        // the host applies only committed entries, so what it applied is committed even if the
        // hard state's commit was persisted earlier
        this.log.commitTo(Math.min(r.applied, this.log.lastIndex()));
        this.log.applied = Math.min(Math.max(r.applied, this.log.applied), this.log.committed);
      }
    }
    this.membership = this.configAt(this.log.lastIndex());
    this.prevHardState = this.hardState();
    this.resetElectionTimeout();
    this.prevSoftState = this.softState();
  }

  // ---------------------------------------------------------------- host API

  tick(): void {
    if (this.state === 'leader') this.tickLeader();
    else this.tickElection();
  }

  step(m: RaftMessage): void {
    if (m.to !== this.id || m.from === this.id) return;
    if (m.term > this.term) {
      if (m.type === 'ELECTION_REQUEST' && !m.transfer && this.inLease()) return;
      const futureTermOk = (m.type === 'ELECTION_REQUEST' && m.preVote) || (m.type === 'ELECTION_RESPONSE' && m.preVote && m.granted);
      if (!futureTermOk) {
        const fromLeader = m.type === 'REPLICATE' || m.type === 'HEARTBEAT' || m.type === 'DATA_SYNC_REQUEST';
        this.becomeFollower(m.term, fromLeader ? m.from : undefined);
      }
    } else if (m.term < this.term) {
      if (m.type === 'REPLICATE' || m.type === 'HEARTBEAT') {
        // A stale leader (e.g. back from a partition): tell it the newer term so it steps down.
        this.send<HeartbeatResponse>({ type: 'HEARTBEAT_RESPONSE', to: m.from, ctx: '' });
      } else if (m.type === 'ELECTION_REQUEST') {
        this.send<ElectionResponse>({ type: 'ELECTION_RESPONSE', to: m.from, preVote: m.preVote, granted: false });
      }
      return;
    }

    if (m.type === 'ELECTION_REQUEST') {
      this.handleElectionRequest(m);
      return;
    }
    switch (this.state) {
      case 'leader':
        this.stepLeader(m);
        break;
      case 'candidate':
      case 'precandidate':
        this.stepCandidate(m);
        break;
      case 'follower':
        this.stepFollower(m);
        break;
    }
  }

  propose(data: string): ProposeResult {
    const refused = this.refuseProposal();
    if (refused) return refused;
    const e = this.appendEntry('command', data);
    return { ok: true, index: e.index, term: e.term };
  }

  proposeConfChange(cc: ConfChange): ProposeResult {
    const refused = this.refuseProposal();
    if (refused) return refused;
    if (!this.committedInTerm() || this.hasUncommittedConfig()) return { ok: false, reason: 'CONF_CHANGE_PENDING', leader: this.id };
    const next = applyConfChange(this.membership, cc);
    if (typeof next === 'string') return { ok: false, reason: 'INVALID_CONF_CHANGE', leader: this.id };
    if (cc.type === 'promoteLearner') {
      const pr = this.progress.get(cc.node);
      if (!pr || pr.match < this.log.committed) return { ok: false, reason: 'LEARNER_NOT_CAUGHT_UP', leader: this.id };
    }
    const e = this.appendEntry('config', encodeConfigEntry(cc, next));
    return { ok: true, index: e.index, term: e.term };
  }

  readIndex(ctx: string): ReadIndexResult {
    if (this.state !== 'leader') return { ok: false, reason: 'NOT_LEADER', ...(this.leader ? { leader: this.leader } : {}) };
    if (!this.committedInTerm()) {
      this.waitingReads.push(ctx);
      return { ok: true };
    }
    this.startRead(ctx);
    return { ok: true };
  }

  transferLeadership(to: NodeId): void {
    if (this.state !== 'leader' || to === this.id || !this.membership.voters.includes(to)) return;
    if (this.leadTransferee === to) return;
    this.leadTransferee = to;
    this.transferElapsed = 0;
    const pr = this.progress.get(to);
    if (pr && pr.match === this.log.lastIndex()) this.send({ type: 'PROMOTE_TO_LEADER', to });
    else this.sendAppend(to);
  }

  /**
   * Discard entries up to `index` (which the host has applied) and keep `data` as the snapshot that
   * replaces them; returns the snapshot for the host to persist, or undefined if already compacted.
   */
  compact(index: number, data: string): Snapshot | undefined {
    if (index > this.log.applied) throw new Error(`compact(${index}) beyond applied index ${this.log.applied}`);
    if (index < this.log.firstIndex()) return undefined;
    const term = this.log.term(index);
    if (term === undefined) return undefined;
    const m = this.configAt(index);
    const snapshot: Snapshot = { index, term, voters: m.voters, learners: m.learners, data };
    this.log.compact(snapshot);
    return snapshot;
  }

  hasReady(): boolean {
    this.flushCoalesced();
    return (
      this.msgs.length > 0 ||
      this.readStates.length > 0 ||
      this.abortedReads.length > 0 ||
      this.log.pendingSnapshot !== undefined ||
      this.log.unstableFrom <= this.log.lastIndex() ||
      this.log.committed > this.log.applied ||
      !sameHardState(this.hardState(), this.prevHardState) ||
      !sameSoftState(this.softState(), this.prevSoftState)
    );
  }

  ready(): Ready {
    this.flushCoalesced();
    const hs = this.hardState();
    const rd: Ready = {
      entries: this.log.unstableEntries(),
      committed: this.log.committedUnapplied(),
      messages: this.msgs.slice(),
      readStates: this.readStates.slice(),
      abortedReads: this.abortedReads.slice(),
      softState: this.softState(),
    };
    if (!sameHardState(hs, this.prevHardState)) rd.hardState = hs;
    if (this.log.pendingSnapshot) rd.snapshot = this.log.pendingSnapshot;
    return rd;
  }

  advance(rd: Ready): void {
    if (rd.hardState) this.prevHardState = rd.hardState;
    if (rd.snapshot) {
      if (this.log.pendingSnapshot?.index === rd.snapshot.index) this.log.pendingSnapshot = undefined;
      this.log.applied = Math.max(this.log.applied, rd.snapshot.index);
    }
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry && this.log.matchTerm(lastEntry.index, lastEntry.term)) {
      this.log.unstableFrom = Math.max(this.log.unstableFrom, lastEntry.index + 1);
    }
    const lastCommitted = rd.committed[rd.committed.length - 1];
    if (lastCommitted) this.log.applied = Math.max(this.log.applied, lastCommitted.index);
    this.msgs.splice(0, rd.messages.length);
    this.readStates.splice(0, rd.readStates.length);
    this.abortedReads.splice(0, rd.abortedReads.length);
    this.prevSoftState = rd.softState;
  }

  status(): RaftStatus {
    const st: RaftStatus = {
      id: this.id,
      term: this.term,
      role: this.role(),
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      firstIndex: this.log.firstIndex(),
      voters: this.membership.voters.slice(),
      learners: this.membership.learners.slice(),
    };
    if (this.leader !== undefined) st.leader = this.leader;
    if (this.state === 'leader') {
      const progress: Record<NodeId, PeerProgress> = {};
      for (const [id, pr] of this.progress) progress[id] = { match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive };
      st.progress = progress;
    }
    return st;
  }

  /** Log entry at `index` if still held (for tests and debugging). */
  entryAt(index: number): Entry | undefined {
    return this.log.entry(index);
  }

  // ---------------------------------------------------------------- ticks

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    for (const pr of this.progress.values()) {
      if (pr.state === 'snapshot' && ++pr.snapshotElapsed >= this.electionMin) this.becomeProbe(pr);
    }
    if (this.leadTransferee !== undefined && ++this.transferElapsed >= this.electionMin) this.leadTransferee = undefined;
    if (this.electionElapsed >= this.electionMin) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        const active = this.membership.voters.filter((v) => v === this.id || this.progress.get(v)?.recentActive).length;
        for (const pr of this.progress.values()) pr.recentActive = false;
        if (active < quorum(this.membership.voters)) {
          this.becomeFollower(this.term, undefined);
          return;
        }
      }
    }
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(this.pendingReads[this.pendingReads.length - 1]?.ctx ?? '');
    }
  }

  // ---------------------------------------------------------------- elections

  private promotable(): boolean {
    return this.membership.voters.includes(this.id) && this.log.pendingSnapshot === undefined;
  }

  /**
   * Recently heard from a leader (or is one): ignore vote requests so that a removed or
   * reconnecting server cannot disrupt a working cluster (Raft thesis 4.2.3). Elections started by
   * PROMOTE_TO_LEADER bypass this.
   */
  private inLease(): boolean {
    if (this.state === 'leader') return true;
    return this.leader !== undefined && this.electionElapsed < this.electionMin;
  }

  private hup(transfer: boolean): void {
    if (this.state === 'leader' || !this.promotable()) return;
    if (this.preVote && !transfer) this.campaign('precandidate', false);
    else this.campaign('candidate', transfer);
  }

  private campaign(kind: 'precandidate' | 'candidate', transfer: boolean): void {
    if (kind === 'precandidate') {
      this.state = 'precandidate';
      this.leader = undefined;
      this.votes.clear();
      this.electionElapsed = 0;
      this.resetElectionTimeout();
    } else {
      this.resetTerm(this.term + 1);
      this.vote = this.id;
      this.state = 'candidate';
    }
    const electionTerm = kind === 'precandidate' ? this.term + 1 : this.term;
    if (this.poll(this.id, true) === 'won') return;
    for (const v of this.membership.voters) {
      if (v === this.id) continue;
      this.send<ElectionRequest>({
        type: 'ELECTION_REQUEST', to: v, term: electionTerm, preVote: kind === 'precandidate',
        lastLogIndex: this.log.lastIndex(), lastLogTerm: this.log.lastTerm(), transfer,
      });
    }
  }

  /** Record a vote; acts on the outcome (next phase, leadership, or back to follower). */
  private poll(from: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
    if (!this.votes.has(from)) this.votes.set(from, granted);
    const voters = this.membership.voters;
    let yes = 0;
    let no = 0;
    for (const v of voters) {
      const g = this.votes.get(v);
      if (g === true) yes++;
      else if (g === false) no++;
    }
    const q = quorum(voters);
    if (yes >= q) {
      if (this.state === 'precandidate') this.campaign('candidate', false);
      else this.becomeLeader();
      return 'won';
    }
    if (no > voters.length - q) {
      this.becomeFollower(this.term, undefined);
      return 'lost';
    }
    return 'pending';
  }

  private handleElectionRequest(m: ElectionRequest): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === null && this.leader === undefined) ||
      (m.preVote && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) {
      // A grant carries the requested term so a pre-candidate does not mistake it for a newer term.
      this.send<ElectionResponse>({ type: 'ELECTION_RESPONSE', to: m.from, term: m.term, preVote: m.preVote, granted: true });
      if (!m.preVote) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send<ElectionResponse>({ type: 'ELECTION_RESPONSE', to: m.from, preVote: m.preVote, granted: false });
    }
  }

  private stepCandidate(m: RaftMessage): void {
    switch (m.type) {
      case 'REPLICATE':
      case 'HEARTBEAT':
      case 'DATA_SYNC_REQUEST':
        this.becomeFollower(this.term, m.from);
        this.stepFollower(m);
        break;
      case 'ELECTION_RESPONSE':
        if (m.preVote === (this.state === 'precandidate')) this.poll(m.from, m.granted);
        break;
      default:
        break;
    }
  }

  // ---------------------------------------------------------------- role changes

  private resetTerm(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = null;
    }
    this.leader = undefined;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetElectionTimeout();
    this.votes.clear();
    this.progress.clear();
    this.leadTransferee = undefined;
    this.abortReads();
  }

  private resetElectionTimeout(): void {
    const span = this.electionMax - this.electionMin + 1;
    this.randomizedElectionTimeout = this.electionMin + Math.min(span - 1, Math.floor(this.random() * span));
  }

  private becomeFollower(term: number, leader: NodeId | undefined): void {
    this.resetTerm(term);
    this.state = 'follower';
    this.leader = leader;
  }

  private becomeLeader(): void {
    this.resetTerm(this.term);
    this.state = 'leader';
    this.leader = this.id;
    for (const id of this.peers()) this.progress.set(id, this.newProgress());
    this.appendEntry('noop', '');
  }

  private newProgress(): Progress {
    return { match: 0, next: this.log.lastIndex() + 1, state: 'probe', paused: false, recentActive: false, snapshotElapsed: 0 };
  }

  private abortReads(): void {
    for (const r of this.pendingReads) this.abortedReads.push(r.ctx);
    this.abortedReads.push(...this.waitingReads);
    this.pendingReads = [];
    this.waitingReads = [];
  }

  // ---------------------------------------------------------------- leader

  private refuseProposal(): ProposeResult | null {
    if (this.state !== 'leader') return { ok: false, reason: 'NOT_LEADER', ...(this.leader ? { leader: this.leader } : {}) };
    if (this.leadTransferee !== undefined) return { ok: false, reason: 'LEADER_TRANSFER_IN_PROGRESS', leader: this.id };
    return null;
  }

  private appendEntry(type: Entry['type'], data: string): Entry {
    const e: Entry = { term: this.term, index: this.log.lastIndex() + 1, type, data };
    this.log.append([e]);
    if (type === 'config') this.onConfigChanged();
    // Replication is sent when the host next collects a Ready, so a burst of proposals travels
    // in few REPLICATE messages (group commit) instead of one message per entry and follower.
    this.maybeCommit();
    this.appendsPending = true;
    return e;
  }

  private peers(): NodeId[] {
    return [...this.membership.voters, ...this.membership.learners].filter((id) => id !== this.id);
  }

  private committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private hasUncommittedConfig(): boolean {
    for (const e of this.log.reverseFrom(this.log.lastIndex())) {
      if (e.index <= this.log.committed) return false;
      if (e.type === 'config') return true;
    }
    return false;
  }

  /** Advance commit by counting matches of current-term entries among the configured voters. */
  private maybeCommit(): boolean {
    const matches = this.membership.voters
      .map((v) => (v === this.id ? this.log.lastIndex() : this.progress.get(v)?.match ?? 0))
      .sort((a, b) => b - a);
    const idx = matches[quorum(this.membership.voters) - 1] ?? 0;
    if (idx <= this.log.committed || this.log.term(idx) !== this.term) return false;
    const firstInTerm = !this.committedInTerm();
    this.log.commitTo(idx);
    if (firstInTerm && this.waitingReads.length > 0) {
      const waiting = this.waitingReads;
      this.waitingReads = [];
      for (const ctx of waiting) this.startRead(ctx);
    }
    // Followers learn the new commit index from the next REPLICATE or HEARTBEAT (Raft section
    // 5.3), not from a broadcast of empty REPLICATEs per commit: those cost every follower a
    // wake-up, a write and an answer per entry at low concurrency, and on a shared CPU they
    // compete with the reply to the client. Followers only apply sooner; nothing waits on that.
    this.maybeStepDownAfterRemoval();
    return true;
  }

  /** A leader removed from the voters keeps leading until that change commits, then hands over. */
  private maybeStepDownAfterRemoval(): void {
    if (this.state !== 'leader' || this.membership.voters.includes(this.id) || this.hasUncommittedConfig()) return;
    let best: NodeId | undefined;
    let bestMatch = -1;
    for (const v of this.membership.voters) {
      const m = this.progress.get(v)?.match ?? 0;
      if (m > bestMatch) {
        best = v;
        bestMatch = m;
      }
    }
    if (best !== undefined && bestMatch === this.log.lastIndex()) this.send({ type: 'PROMOTE_TO_LEADER', to: best });
    this.becomeFollower(this.term, undefined);
  }

  private onConfigChanged(): void {
    this.membership = this.configAt(this.log.lastIndex());
    if (this.state !== 'leader') return;
    const peers = new Set(this.peers());
    for (const id of [...this.progress.keys()]) if (!peers.has(id)) this.progress.delete(id);
    for (const id of peers) if (!this.progress.has(id)) this.progress.set(id, this.newProgress());
    if (this.leadTransferee !== undefined && !this.membership.voters.includes(this.leadTransferee)) this.leadTransferee = undefined;
  }

  private configAt(index: number): Membership {
    for (const e of this.log.reverseFrom(index)) {
      if (e.type !== 'config') continue;
      const d = decodeConfigEntry(e.data);
      if (d) return { voters: d.voters.slice().sort(), learners: d.learners.slice().sort() };
    }
    const s = this.log.snapshot;
    if (s) return { voters: s.voters.slice().sort(), learners: s.learners.slice().sort() };
    return { voters: this.bootstrap.voters.slice(), learners: this.bootstrap.learners.slice() };
  }

  private flushCoalesced(): void {
    if (this.state !== 'leader') {
      this.appendsPending = false;
      this.readBeatPending = false;
      return;
    }
    if (this.appendsPending) {
      this.appendsPending = false;
      this.bcastAppend();
    }
    if (this.readBeatPending) {
      this.readBeatPending = false;
      const last = this.pendingReads[this.pendingReads.length - 1];
      if (last) this.bcastHeartbeat(last.ctx);
    }
  }

  private bcastAppend(): void {
    for (const [id, pr] of this.progress) {
      if (!this.sendAppend(id)) continue;
      while (pr.state === 'replicate' && pr.next <= this.log.lastIndex() && this.sendAppend(id)) { /* pipeline the rest */ }
    }
  }

  private bcastHeartbeat(ctx: string): void {
    for (const [id, pr] of this.progress) {
      this.send<Heartbeat>({ type: 'HEARTBEAT', to: id, commit: Math.min(pr.match, this.log.committed), ctx });
    }
  }

  /** Send what `to` needs next: entries, an empty probe, or the snapshot. Returns false if nothing sent. */
  private sendAppend(to: NodeId): boolean {
    const pr = this.progress.get(to);
    if (!pr || pr.paused || pr.state === 'snapshot') return false;
    if (pr.state === 'replicate' && pr.next - 1 - pr.match >= this.maxEntriesPerMsg * MAX_INFLIGHT_MSGS) return false;
    const prevLogIndex = pr.next - 1;
    const prevLogTerm = this.log.term(prevLogIndex);
    if (prevLogTerm === undefined) {
      const snapshot = this.log.snapshot;
      if (!snapshot) return false;
      this.send<DataSyncRequest>({ type: 'DATA_SYNC_REQUEST', to, snapshot });
      pr.state = 'snapshot';
      pr.snapshotElapsed = 0;
      return true;
    }
    const entries: Entry[] = [];
    let bytes = 0;
    for (const e of this.log.slice(pr.next, pr.next + this.maxEntriesPerMsg)) {
      if (entries.length > 0 && bytes + e.data.length > this.maxBytesPerMsg) break;
      entries.push(e);
      bytes += e.data.length;
    }
    this.send<Replicate>({ type: 'REPLICATE', to, prevLogIndex, prevLogTerm, entries, commit: this.log.committed });
    const last = entries[entries.length - 1];
    if (pr.state === 'replicate' && last) pr.next = last.index + 1;
    else if (pr.state === 'probe') pr.paused = true;
    return true;
  }

  private becomeProbe(pr: Progress): void {
    pr.state = 'probe';
    pr.paused = false;
    pr.next = pr.match + 1;
  }

  private stepLeader(m: RaftMessage): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    switch (m.type) {
      case 'REPLICATE_RESPONSE':
        pr.recentActive = true;
        if (m.success) this.handleReplicateSuccess(m.from, pr, m.index);
        else this.handleReplicateReject(m.from, pr, m);
        break;
      case 'HEARTBEAT_RESPONSE':
        pr.recentActive = true;
        if (pr.state === 'probe') pr.paused = false;
        if (pr.match < this.log.lastIndex()) {
          // In replicate state this is an empty probe at next-1: a follower that lost messages
          // rejects it and the leader falls back to probing from its hint.
          if (pr.state === 'replicate' && pr.next - 1 - pr.match >= this.maxEntriesPerMsg * MAX_INFLIGHT_MSGS) this.becomeProbe(pr);
          this.sendAppend(m.from);
        }
        if (m.ctx) this.ackRead(m.from, m.ctx);
        break;
      case 'DATA_SYNC_RESPONSE':
        pr.recentActive = true;
        if (pr.state === 'snapshot') {
          pr.match = Math.max(pr.match, m.index);
          pr.next = pr.match + 1;
          pr.state = 'probe';
          pr.paused = false;
          this.sendAppend(m.from);
        }
        break;
      default:
        break;
    }
  }

  private handleReplicateSuccess(from: NodeId, pr: Progress, index: number): void {
    const wasPaused = pr.paused;
    if (index > pr.match) {
      pr.match = index;
      pr.next = Math.max(pr.next, index + 1);
      if (pr.state === 'probe') pr.state = 'replicate';
      else if (pr.state === 'snapshot') {
        pr.state = 'replicate';
        pr.next = pr.match + 1;
      }
      pr.paused = false;
      this.maybeCommit();
      // A follower that was paused (probing) gets what it lacks at once, or an empty REPLICATE
      // with the commit index; otherwise no empty REPLICATE after every answer (as etcd), which
      // would cost the follower a write and an answer per entry. More entries follow below.
      if (wasPaused) this.sendAppend(from);
      if (this.state !== 'leader') return;
      // keep pipelining while there is more to send
      while (pr.state === 'replicate' && pr.next <= this.log.lastIndex() && this.sendAppend(from)) { /* send more */ }
    } else if (wasPaused) {
      pr.paused = false;
      this.sendAppend(from);
    }
    if (from === this.leadTransferee && pr.match === this.log.lastIndex()) this.send({ type: 'PROMOTE_TO_LEADER', to: from });
  }

  private handleReplicateReject(from: NodeId, pr: Progress, m: ReplicateResponse): void {
    if (pr.state === 'snapshot') return;
    if (pr.state === 'probe' && m.index !== pr.next - 1) return; // stale
    // Refusing an index it acknowledged before means a delayed duplicate, or a follower that lost
    // acknowledged data (broken storage): either way there is nothing to back off to, and
    // answering would let duplicated messages multiply. Heartbeats keep probing it.
    if (m.index <= pr.match) return;
    let next = m.hintIndex;
    if (m.hintTerm > 0) {
      const last = this.log.lastIndexOfTerm(m.hintTerm);
      if (last !== undefined) next = last + 1;
    }
    pr.next = Math.max(pr.match + 1, Math.min(next, m.index));
    pr.state = 'probe';
    pr.paused = false;
    this.sendAppend(from);
  }

  private startRead(ctx: string): void {
    const voters = this.membership.voters;
    if (voters.length === 1 && voters[0] === this.id) {
      this.readStates.push({ ctx, index: this.log.committed });
      return;
    }
    const acks = new Set<NodeId>();
    if (voters.includes(this.id)) acks.add(this.id);
    this.pendingReads.push({ ctx, index: this.log.committed, acks });
    this.readBeatPending = true; // one heartbeat round confirms every read queued before it
  }

  private ackRead(from: NodeId, ctx: string): void {
    const at = this.pendingReads.findIndex((r) => r.ctx === ctx);
    const req = this.pendingReads[at];
    if (!req) return;
    req.acks.add(from);
    const voters = this.membership.voters;
    if (voters.filter((v) => req.acks.has(v)).length < quorum(voters)) return;
    // Confirming leadership for this request confirms every earlier one too.
    for (const r of this.pendingReads.splice(0, at + 1)) this.readStates.push({ ctx: r.ctx, index: r.index });
  }

  // ---------------------------------------------------------------- follower

  private stepFollower(m: RaftMessage): void {
    switch (m.type) {
      case 'REPLICATE':
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleReplicate(m);
        break;
      case 'HEARTBEAT':
        this.electionElapsed = 0;
        this.leader = m.from;
        this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
        this.send<HeartbeatResponse>({ type: 'HEARTBEAT_RESPONSE', to: m.from, ctx: m.ctx });
        break;
      case 'DATA_SYNC_REQUEST':
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleSnapshot(m);
        break;
      case 'PROMOTE_TO_LEADER':
        this.hup(true);
        break;
      default:
        break;
    }
  }

  private handleReplicate(m: Replicate): void {
    const contiguous = m.entries.every((e, i) => e.index === m.prevLogIndex + 1 + i && e.term <= m.term);
    if (!contiguous) return;
    if (m.prevLogIndex < this.log.committed) {
      // Everything up to our commit index already matches the leader; skip what we have.
      const skip = this.log.committed - m.prevLogIndex;
      if (skip >= m.entries.length) {
        this.send<ReplicateResponse>({ type: 'REPLICATE_RESPONSE', to: m.from, success: true, index: this.log.committed, hintIndex: 0, hintTerm: 0 });
        return;
      }
      const prev = this.log.committed;
      const prevTerm = this.log.term(prev) ?? 0;
      this.handleReplicate({ ...m, prevLogIndex: prev, prevLogTerm: prevTerm, entries: m.entries.slice(skip) });
      return;
    }
    const truncations = this.log.truncations;
    const last = this.log.maybeAppend(m.prevLogIndex, m.prevLogTerm, m.commit, m.entries);
    if (last !== null) {
      // The membership is the newest config entry in the log: it can only have changed if one
      // arrived or entries were truncated. (Scanning back for it on every REPLICATE cost the
      // followers a walk over the whole log per message.)
      if (this.log.truncations !== truncations || m.entries.some((e) => e.type === 'config')) this.onConfigMaybeChanged();
      this.send<ReplicateResponse>({ type: 'REPLICATE_RESPONSE', to: m.from, success: true, index: last, hintIndex: 0, hintTerm: 0 });
    } else {
      const { hintIndex, hintTerm } = this.log.conflictHint(m.prevLogIndex);
      this.send<ReplicateResponse>({ type: 'REPLICATE_RESPONSE', to: m.from, success: false, index: m.prevLogIndex, hintIndex, hintTerm });
    }
  }

  private onConfigMaybeChanged(): void {
    const next = this.configAt(this.log.lastIndex());
    if (!sameMembership(next, this.membership)) this.membership = next;
  }

  private handleSnapshot(m: DataSyncRequest): void {
    const s = m.snapshot;
    if (s.index > this.log.committed) {
      if (this.log.matchTerm(s.index, s.term)) {
        this.log.commitTo(s.index);
      } else {
        this.log.restore(s);
        this.membership = this.configAt(this.log.lastIndex());
      }
    }
    this.send({ type: 'DATA_SYNC_RESPONSE', to: m.from, index: this.log.committed });
  }

  // ---------------------------------------------------------------- helpers

  private send<M extends RaftMessage>(msg: Outgoing<M>): void {
    this.msgs.push({ ...msg, from: this.id, term: msg.term ?? this.term } as unknown as RaftMessage);
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private role(): Role {
    if (this.state === 'follower' && this.membership.learners.includes(this.id)) return 'learner';
    return this.state;
  }

  private softState(): SoftState {
    return this.leader !== undefined ? { leader: this.leader, role: this.role() } : { role: this.role() };
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role;
}

function sameMembership(a: Membership, b: Membership): boolean {
  return a.voters.join('\u0000') === b.voters.join('\u0000') && a.learners.join('\u0000') === b.learners.join('\u0000');
}
