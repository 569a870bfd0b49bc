import type { Entry, Snapshot } from './types';

/**
 * The in-memory Raft log: entries after a snapshot base, the commit and apply cursors, and which
 * part the host has not persisted yet (`unstableFrom`). Pure data, no I/O.
 */
export class RaftLog {
  private entries: Entry[] = [];
  /** index/term of the last entry covered by `snapshot` (0/0 for an uncompacted log) */
  private snapIndex = 0;
  private snapTerm = 0;
  snapshot: Snapshot | undefined;
  /** snapshot received from a leader that the host must still install */
  pendingSnapshot: Snapshot | undefined;
  committed = 0;
  applied = 0;
  /** first index the host has not been handed in a Ready yet */
  unstableFrom = 1;
  /** counts truncations of conflicting entries (a removed config entry changes the membership) */
  truncations = 0;

  constructor(snapshot?: Snapshot, entries: Entry[] = []) {
    if (snapshot) {
      this.snapshot = snapshot;
      this.snapIndex = snapshot.index;
      this.snapTerm = snapshot.term;
      this.committed = snapshot.index;
      this.applied = snapshot.index;
    }
    entries.forEach((e, i) => {
      if (e.index !== this.snapIndex + 1 + i) throw new Error(`restored entries not contiguous at ${e.index}`);
    });
    this.entries = entries.slice();
    this.unstableFrom = this.lastIndex() + 1;
  }

  firstIndex(): number {
    return this.snapIndex + 1;
  }

  lastIndex(): number {
    return this.snapIndex + this.entries.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** term of the entry at `index`, undefined when compacted away or beyond the end */
  term(index: number): number | undefined {
    if (index === this.snapIndex) return this.snapTerm;
    if (index < this.snapIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapIndex - 1]?.term;
  }

  entry(index: number): Entry | undefined {
    if (index <= this.snapIndex) return undefined;
    return this.entries[index - this.snapIndex - 1];
  }

  /** entries in [lo, hi) (clamped to what exists) */
  slice(lo: number, hi: number): Entry[] {
    const from = Math.max(lo, this.firstIndex()) - this.snapIndex - 1;
    const to = Math.min(hi, this.lastIndex() + 1) - this.snapIndex - 1;
    return from < to ? this.entries.slice(from, to) : [];
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Raft §5.4.1: is a log ending at (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** leader-side append of new entries at the end */
  append(entries: Entry[]): void {
    for (const e of entries) {
      if (e.index !== this.lastIndex() + 1) throw new Error(`append out of order: ${e.index} after ${this.lastIndex()}`);
      this.entries.push(e);
    }
  }

  /**
   * Follower-side AppendEntries. Returns the index of the last new entry, or null when the log
   * does not contain (prevIndex, prevTerm). Truncates conflicting (never committed) entries.
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, entries: Entry[]): number | null {
    if (!this.matchTerm(prevIndex, prevTerm)) return null;
    const lastNew = prevIndex + entries.length;
    const conflict = entries.findIndex((e) => !this.matchTerm(e.index, e.term));
    if (conflict >= 0) {
      const first = entries[conflict] as Entry;
      if (first.index <= this.committed) {
        throw new Error(`raft safety violation: conflict at committed index ${first.index} (commit ${this.committed})`);
      }
      // An index past our end is a plain append, not a conflict: nothing is truncated then, and
      // counting it as a truncation made the follower rescan its whole log for the membership
      // on every REPLICATE.
      if (first.index <= this.lastIndex()) this.truncateFrom(first.index);
      this.append(entries.slice(conflict));
    }
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  /** Conflict hint for a rejected AppendEntries (fast nextIndex back-off). */
  conflictHint(prevIndex: number): { hintIndex: number; hintTerm: number } {
    if (prevIndex > this.lastIndex()) return { hintIndex: this.lastIndex() + 1, hintTerm: 0 };
    const t = this.term(prevIndex);
    if (t === undefined) return { hintIndex: this.committed + 1, hintTerm: 0 };
    let i = prevIndex;
    while (i - 1 > this.committed && this.term(i - 1) === t) i--;
    return { hintIndex: i, hintTerm: t };
  }

  /** last index holding an entry of `term`, or undefined */
  lastIndexOfTerm(term: number): number | undefined {
    for (let i = this.lastIndex(); i >= this.snapIndex; i--) {
      const t = this.term(i);
      if (t === undefined || t < term) return undefined;
      if (t === term) return i;
    }
    return undefined;
  }

  private truncateFrom(index: number): void {
    this.truncations++;
    this.entries.length = Math.max(0, index - this.snapIndex - 1);
    this.unstableFrom = Math.min(this.unstableFrom, index);
  }

  commitTo(index: number): boolean {
    if (index > this.committed) {
      if (index > this.lastIndex()) throw new Error(`commit ${index} beyond last index ${this.lastIndex()}`);
      this.committed = index;
      return true;
    }
    return false;
  }

  unstableEntries(): Entry[] {
    return this.slice(this.unstableFrom, this.lastIndex() + 1);
  }

  /** committed entries the host has not applied yet (after any pending snapshot) */
  committedUnapplied(): Entry[] {
    const lo = Math.max(this.applied, this.pendingSnapshot?.index ?? 0) + 1;
    return this.slice(lo, this.committed + 1);
  }

  /** Replace everything with a snapshot received from the leader. */
  restore(snapshot: Snapshot): void {
    this.entries = [];
    this.snapIndex = snapshot.index;
    this.snapTerm = snapshot.term;
    this.snapshot = snapshot;
    this.pendingSnapshot = snapshot;
    this.committed = snapshot.index;
    this.unstableFrom = snapshot.index + 1;
  }

  /** Drop entries up to `snapshot.index` (host-triggered compaction after applying). */
  compact(snapshot: Snapshot): void {
    const drop = snapshot.index - this.snapIndex;
    this.entries = this.entries.slice(drop);
    this.snapIndex = snapshot.index;
    this.snapTerm = snapshot.term;
    this.snapshot = snapshot;
    this.unstableFrom = Math.max(this.unstableFrom, snapshot.index + 1);
  }

  /** entries from firstIndex on, newest last (for configuration scans) */
  *reverseFrom(index: number): Generator<Entry> {
    for (let i = Math.min(index, this.lastIndex()); i > this.snapIndex; i--) {
      const e = this.entry(i);
      if (e) yield e;
    }
  }
}
