// When a node compacts its log into a snapshot of the whole queue state.
//
// Building and writing the image blocks the event loop in proportion to the state (about 0.5 s at
// 80,000 held messages), and every node reaches a threshold at the same log index, so a snapshot
// taken in the middle of a burst stalls the whole cluster at once. A due snapshot therefore waits
// for a tick in which nothing was applied, unless the log has grown to SNAPSHOT_DEFER_FACTOR
// times the threshold (sustained load still compacts, with the log bounded by that factor).

/** A due snapshot waits for an idle tick until the log is this many times its threshold. */
export const SNAPSHOT_DEFER_FACTOR = 4;

export interface SnapshotProgress {
  /** entries applied since the last snapshot */
  entries: number;
  /** log bytes applied since the last snapshot */
  bytes: number;
  /** size of the last snapshot's image */
  lastImageBytes: number;
}

export function snapshotDue(p: SnapshotProgress, every: number, idle: boolean): boolean {
  // The image is the whole queue state: take one only after at least its own size in new log
  // bytes, so snapshotting stays linear in the traffic however big the state grows.
  if (p.entries < every || p.bytes < p.lastImageBytes) return false;
  if (idle) return true;
  return p.entries >= SNAPSHOT_DEFER_FACTOR * every && p.bytes >= SNAPSHOT_DEFER_FACTOR * p.lastImageBytes;
}
