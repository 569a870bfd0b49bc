/**
 * A hand-driven cluster for scenario tests: a host per node that follows the Ready contract
 * (persist, send, apply), a network whose delivery the test controls message by message, and
 * crash/restart from the persisted state only.
 */
import { RaftNode } from '../../../src/server/mailbox/core/node';
import type { Entry, HardState, NodeId, RaftConfig, RaftMessage, ReadState, Snapshot } from '../../../src/server/mailbox/core/types';
import { mulberry32 } from './sim';

export interface Persisted {
  hardState: HardState;
  entries: Entry[];
  snapshot?: Snapshot;
}

export interface TestNode {
  id: NodeId;
  raft: RaftNode | null;
  storage: Persisted;
  /** entries applied, in order, since the last (re)start or snapshot install */
  applied: Entry[];
  /** every snapshot the host installed */
  installed: Snapshot[];
  readStates: ReadState[];
  abortedReads: string[];
}

export type Filter = (m: RaftMessage) => boolean;

export interface ClusterOptions {
  preVote?: boolean;
  checkQuorum?: boolean;
  electionTicks?: [number, number];
  heartbeatTicks?: number;
  maxEntriesPerMsg?: number;
  learners?: NodeId[];
  seed?: number;
  /** per-node restored state (e.g. the logs of Raft figure 7) */
  restored?: Record<NodeId, Persisted>;
}

export class Cluster {
  readonly nodes = new Map<NodeId, TestNode>();
  /** messages sent and not yet delivered */
  queue: RaftMessage[] = [];
  /** every message ever sent, for assertions */
  sent: RaftMessage[] = [];
  private cut = new Set<string>();
  private readonly random: () => number;

  constructor(readonly voters: NodeId[], private readonly opts: ClusterOptions = {}) {
    this.random = mulberry32(opts.seed ?? 7);
    for (const id of [...voters, ...(opts.learners ?? [])]) {
      const restored = opts.restored?.[id];
      const node: TestNode = {
        id, raft: null, storage: restored ?? { hardState: { term: 0, vote: null, commit: 0 }, entries: [] },
        applied: [], installed: [], readStates: [], abortedReads: [],
      };
      this.nodes.set(id, node);
      this.start(node, restored !== undefined);
    }
  }

  /** add a node that is not in the bootstrap configuration (joins via a config change) */
  addNode(id: NodeId): TestNode {
    const node: TestNode = { id, raft: null, storage: { hardState: { term: 0, vote: null, commit: 0 }, entries: [] }, applied: [], installed: [], readStates: [], abortedReads: [] };
    this.nodes.set(id, node);
    this.start(node, false, []);
    return node;
  }

  private start(node: TestNode, restored: boolean, voters: NodeId[] = this.voters): void {
    const s = node.storage;
    const cfg: RaftConfig = {
      id: node.id,
      voters,
      learners: this.opts.learners ?? [],
      electionTicks: this.opts.electionTicks ?? [10, 20],
      heartbeatTicks: this.opts.heartbeatTicks ?? 2,
      preVote: this.opts.preVote ?? true,
      checkQuorum: this.opts.checkQuorum ?? true,
      random: this.random,
      maxEntriesPerMsg: this.opts.maxEntriesPerMsg ?? 16,
    };
    if (restored) {
      cfg.restored = { hardState: { ...s.hardState }, entries: s.entries.map((e) => ({ ...e })), ...(s.snapshot ? { snapshot: s.snapshot } : {}) };
    }
    node.raft = new RaftNode(cfg);
    node.applied = [];
    this.drain(node);
  }

  get(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  raft(id: NodeId): RaftNode {
    const r = this.get(id).raft;
    if (!r) throw new Error(`${id} is down`);
    return r;
  }

  /** process every pending Ready of a node like a host would */
  drain(node: TestNode): void {
    const raft = node.raft;
    if (!raft) return;
    while (raft.hasReady()) {
      const rd = raft.ready();
      if (rd.snapshot) {
        node.storage.snapshot = rd.snapshot;
        node.storage.entries = [];
        node.installed.push(rd.snapshot);
      }
      if (rd.entries.length > 0) {
        const first = (rd.entries[0] as Entry).index;
        node.storage.entries = node.storage.entries.filter((e) => e.index < first).concat(rd.entries.map((e) => ({ ...e })));
      }
      if (rd.hardState) node.storage.hardState = { ...rd.hardState };
      for (const m of rd.messages) {
        this.sent.push(m);
        this.queue.push(m);
      }
      node.applied.push(...rd.committed);
      node.readStates.push(...rd.readStates);
      node.abortedReads.push(...rd.abortedReads);
      raft.advance(rd);
    }
  }

  drainAll(): void {
    for (const n of this.nodes.values()) this.drain(n);
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cutLink(id, other);
  }

  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}>${b}`);
    this.cut.add(`${b}>${a}`);
  }

  heal(): void {
    this.cut.clear();
  }

  crash(id: NodeId): void {
    this.get(id).raft = null;
    this.queue = this.queue.filter((m) => m.to !== id);
  }

  restart(id: NodeId): void {
    this.start(this.get(id), true);
  }

  /** deliver queued messages (optionally only those passing `filter`; the rest are dropped) until quiet */
  deliverAll(filter: Filter = () => true, maxRounds = 1000): void {
    this.drainAll(); // pick up what direct calls (propose, readIndex, ...) produced
    for (let round = 0; round < maxRounds && this.queue.length > 0; round++) {
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) this.deliver(m, filter);
    }
  }

  deliver(m: RaftMessage, filter: Filter = () => true): void {
    if (this.cut.has(`${m.from}>${m.to}`) || !filter(m)) return;
    const node = this.nodes.get(m.to);
    if (!node?.raft) return;
    node.raft.step(m);
    this.drain(node);
  }

  tick(n = 1, filter: Filter = () => true): void {
    this.deliverAll(filter);
    for (let i = 0; i < n; i++) {
      for (const node of this.nodes.values()) {
        if (!node.raft) continue;
        node.raft.tick();
        this.drain(node);
      }
      this.deliverAll(filter);
    }
  }

  /** make `id` campaign now (as if told to by PROMOTE_TO_LEADER) and run the election to the end */
  elect(id: NodeId, filter: Filter = () => true): void {
    const raft = this.raft(id);
    raft.step({ type: 'PROMOTE_TO_LEADER', from: '__test__', to: id, term: raft.status().term });
    this.drain(this.get(id));
    this.deliverAll(filter);
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.raft?.status().role === 'leader').map((n) => n.id);
  }

  tickUntilLeader(max = 500): NodeId {
    for (let i = 0; i < max; i++) {
      const ls = this.leaders();
      if (ls.length === 1) return ls[0] as NodeId;
      this.tick();
    }
    throw new Error('no leader elected');
  }

  /** terms of a node's log from its first index on */
  logTerms(id: NodeId): number[] {
    const r = this.raft(id);
    const st = r.status();
    const out: number[] = [];
    for (let i = st.firstIndex; i <= st.lastIndex; i++) out.push(r.entryAt(i)?.term ?? -1);
    return out;
  }
}

/** entries with the given terms at indices 1..n */
export function entriesWithTerms(terms: number[]): Entry[] {
  return terms.map((term, i) => ({ term, index: i + 1, type: 'command' as const, data: `e${i + 1}t${term}` }));
}
