/**
 * Two young-generation collections right after a channel opens, at the next turn, instead of
 * during the first messages over it.
 *
 * What start-up and connection setup build (schemas, prepared statements, the connection's own
 * objects) is still in V8's young generation when the first messages flow, so the first scavenges
 * each copy megabytes of it: 5-9 ms pauses, and 13 of the 19 deliveries over 4× the median in five
 * chat-benchmark runs (issue 11) overlapped one. Two minor collections promote it at once, at a
 * moment nothing waits (1-25 ms, measured), and the scavenges after that copy little. A smaller
 * young generation (--max-semi-space-size) did as well, but it can only be set when the process
 * starts, which neither `npx parley` nor Electron's host process controls the same way.
 *
 * The collector is reached through V8's own flag, set at run time for a new context only (the
 * app's global scope gets no `gc`); where that is refused, settling does nothing.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export type Collect = (options: { type: 'minor' | 'major' }) => void;

/** A burst of channels opening (start-up, a network change) settles at most once a second. */
export const SETTLE_GAP_MS = 1_000;

export function exposeCollector(): Collect | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as Collect) : null;
  } catch {
    return null;
  }
}

export interface HeapSettlerOptions {
  collect?: Collect | null;
  now?: () => number;
}

export class HeapSettler {
  private collect: Collect | null | undefined;
  private readonly now: () => number;
  private last = -Infinity;
  private pending = false;
  settled = 0;

  constructor(options: HeapSettlerOptions = {}) {
    this.collect = options.collect;
    this.now = options.now ?? (() => performance.now());
  }

  /** Settles at the next turn, unless one is pending or ran less than SETTLE_GAP_MS ago. */
  soon(): void {
    if (this.pending || this.now() - this.last < SETTLE_GAP_MS) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      this.last = this.now();
      if (this.collect === undefined) this.collect = exposeCollector();
      if (!this.collect) return;
      // The first copies the survivors within the young generation, the second promotes them.
      this.collect({ type: 'minor' });
      this.collect({ type: 'minor' });
      this.settled++;
    });
  }
}
