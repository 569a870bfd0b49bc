/**
 * Types of the deterministic Raft core (modelled on etcd's raft package).
 * The core does no I/O: the host feeds it ticks and messages, and drains `Ready` batches:
 *
 *   while (node.hasReady()) {
 *     const rd = node.ready();
 *     1. if (rd.snapshot)  persist it, drop every stored entry, restore the state machine from rd.snapshot.data
 *     2. persist rd.entries: delete stored entries with index >= rd.entries[0].index, then append them
 *     3. if (rd.hardState) persist it                 (1-3 durable, i.e. fsynced, BEFORE step 4)
 *     4. send rd.messages                              (may be lost/reordered/duplicated: the core copes)
 *     5. apply rd.committed in order; answer clients; serve rd.readStates whose index <= applied index
 *     6. node.advance(rd)
 *   }
 *
 * All of these types are plain JSON-serialisable data (the wire codec is the host's job and must
 * validate every field before calling `step`).
 */

export type NodeId = string;

export type EntryType = 'noop' | 'command' | 'config';

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** command: the state machine's command (JSON text); config: JSON of `ConfigEntryData`; noop: '' */
  data: string;
}

/** Durable per-node state; persist before sending the messages of the same Ready. */
export interface HardState {
  term: number;
  vote: NodeId | null;
  commit: number;
}

export interface Snapshot {
  /** last log index covered by the snapshot */
  index: number;
  term: number;
  /** configuration as of `index` */
  voters: NodeId[];
  learners: NodeId[];
  /** state machine image (e.g. QueueState.snapshot()) */
  data: string;
}

export type ConfChangeType = 'addLearner' | 'promoteLearner' | 'removeNode';

export interface ConfChange {
  type: ConfChangeType;
  node: NodeId;
}

/** Data of a `config` entry: the change and the full configuration it produces. */
export interface ConfigEntryData {
  change: ConfChange;
  voters: NodeId[];
  learners: NodeId[];
}

// ---- messages (names from seed 001) ----

interface MessageBase {
  from: NodeId;
  to: NodeId;
  /** sender's term (the seed's cluster_version, used as epoch) */
  term: number;
}

/** RequestVote (preVote=true: PreVote probe, `term` is the term the sender WOULD campaign in). */
export interface ElectionRequest extends MessageBase {
  type: 'ELECTION_REQUEST';
  preVote: boolean;
  lastLogIndex: number;
  lastLogTerm: number;
  /** set for elections triggered by PROMOTE_TO_LEADER: voters skip the leader-lease check */
  transfer: boolean;
}

export interface ElectionResponse extends MessageBase {
  type: 'ELECTION_RESPONSE';
  preVote: boolean;
  granted: boolean;
}

/** AppendEntries with entries (may be empty when it only probes or carries `commit`). */
export interface Replicate extends MessageBase {
  type: 'REPLICATE';
  prevLogIndex: number;
  prevLogTerm: number;
  entries: Entry[];
  commit: number;
}

export interface ReplicateResponse extends MessageBase {
  type: 'REPLICATE_RESPONSE';
  success: boolean;
  /** success: the follower's log matches the leader's up to here. reject: the prevLogIndex that was refused */
  index: number;
  /** reject only: conflict hint. leader should retry at hintIndex unless it has entries of hintTerm */
  hintIndex: number;
  hintTerm: number;
}

/** Empty AppendEntries: keeps followers quiet, carries commit (<= follower's match) and a ReadIndex context. */
export interface Heartbeat extends MessageBase {
  type: 'HEARTBEAT';
  commit: number;
  /** ReadIndex context being confirmed ('' if none) */
  ctx: string;
}

export interface HeartbeatResponse extends MessageBase {
  type: 'HEARTBEAT_RESPONSE';
  ctx: string;
}

/** InstallSnapshot: leader to a laggard/joiner whose needed entries were compacted. */
export interface DataSyncRequest extends MessageBase {
  type: 'DATA_SYNC_REQUEST';
  snapshot: Snapshot;
}

export interface DataSyncResponse extends MessageBase {
  type: 'DATA_SYNC_RESPONSE';
  /** follower's commit index after handling the snapshot */
  index: number;
}

/** TimeoutNow: leadership transfer target campaigns immediately. */
export interface PromoteToLeader extends MessageBase {
  type: 'PROMOTE_TO_LEADER';
}

export type RaftMessage =
  | ElectionRequest
  | ElectionResponse
  | Replicate
  | ReplicateResponse
  | Heartbeat
  | HeartbeatResponse
  | DataSyncRequest
  | DataSyncResponse
  | PromoteToLeader;

export type RaftMessageType = RaftMessage['type'];

export const RAFT_MESSAGE_TYPES: readonly RaftMessageType[] = [
  'ELECTION_REQUEST', 'ELECTION_RESPONSE', 'REPLICATE', 'REPLICATE_RESPONSE', 'HEARTBEAT',
  'HEARTBEAT_RESPONSE', 'DATA_SYNC_REQUEST', 'DATA_SYNC_RESPONSE', 'PROMOTE_TO_LEADER',
];

// ---- node API ----

export type Role = 'follower' | 'candidate' | 'precandidate' | 'leader' | 'learner';

export interface SoftState {
  leader?: NodeId;
  role: Role;
}

/** A ReadIndex request confirmed by a heartbeat quorum: serve `ctx` once applied index >= `index`. */
export interface ReadState {
  ctx: string;
  index: number;
}

export interface Ready {
  /** present when changed; persist BEFORE sending messages */
  hardState?: HardState;
  /** append, truncating any stored entries from entries[0].index */
  entries: Entry[];
  /** install (replaces the log and the state machine), before appending `entries` */
  snapshot?: Snapshot;
  /** apply in order (they follow the snapshot, if any) */
  committed: Entry[];
  /** send after persisting */
  messages: RaftMessage[];
  readStates: ReadState[];
  /** ReadIndex contexts that can no longer be confirmed here (leadership lost): fail them to the client */
  abortedReads: string[];
  softState: SoftState;
}

export interface RestoredState {
  hardState: HardState;
  /** stored entries, contiguous, all after snapshot.index */
  entries: Entry[];
  snapshot?: Snapshot;
  /** index the host's state machine has durably applied (default: snapshot index, or 0); committed entries after it are re-delivered */
  applied?: number;
}

export interface RaftConfig {
  id: NodeId;
  /** bootstrap configuration; ignored where the snapshot or log has a configuration */
  voters: NodeId[];
  learners?: NodeId[];
  /** randomized election timeout, inclusive range, in ticks (e.g. [6, 12] with 100 ms ticks) */
  electionTicks: [number, number];
  heartbeatTicks: number;
  preVote: boolean;
  checkQuorum: boolean;
  /** injected randomness in [0, 1) */
  random: () => number;
  /** default 64 */
  maxEntriesPerMsg?: number;
  /** soft cap on entry data bytes per REPLICATE (at least one entry is always sent); default 1 MiB */
  maxBytesPerMsg?: number;
  restored?: RestoredState;
}

export type ProposeFailure =
  | 'NOT_LEADER'
  | 'LEADER_TRANSFER_IN_PROGRESS'
  | 'CONF_CHANGE_PENDING'
  | 'INVALID_CONF_CHANGE'
  | 'LEARNER_NOT_CAUGHT_UP';

export type ProposeResult =
  | { ok: true; index: number; term: number }
  | { ok: false; reason: ProposeFailure; leader?: NodeId };

export type ReadIndexResult = { ok: true } | { ok: false; reason: 'NOT_LEADER'; leader?: NodeId };

export interface PeerProgress {
  match: number;
  next: number;
  state: 'probe' | 'replicate' | 'snapshot';
  recentActive: boolean;
}

export interface RaftStatus {
  id: NodeId;
  term: number;
  role: Role;
  leader?: NodeId;
  commit: number;
  applied: number;
  lastIndex: number;
  firstIndex: number;
  voters: NodeId[];
  learners: NodeId[];
  /** leader only */
  progress?: Record<NodeId, PeerProgress>;
}
