/**
 * WAL checkpoints off the event loop (issue 11, tails). A PASSIVE checkpoint copies the WAL back
 * and fsyncs twice: measured 2.4-8.4 ms here, and better-sqlite3 runs it on the calling thread, so
 * on the main connection's 1 s timer every peer stalled its event loop that long once a second:
 * the delivery p99 (a round trip that met a checkpoint on either side). A worker thread with its own
 * connection to the same file does it instead; WAL mode lets it run beside the main connection's
 * writes, and the durability is the same (the same checkpoint, the same syncs, only elsewhere).
 *
 * The worker also waits for a quiet moment: its fsync of the WAL made the main thread's next commit
 * wait in the kernel for 12-16 ms when the two met (seen in profiles of the delivery p99). It looks
 * at the -wal file's modification time every tick, checkpoints once nothing has been written for
 * `quietMs`, and does not defer past `maxDeferMs` of unbroken writing, so the WAL stays bounded
 * (the automatic checkpoint stays the last bound). Deferring costs no crash safety: with
 * synchronous = NORMAL a commit survives the process dying either way, and only a power cut within
 * those seconds could lose it, as with the timer before.
 *
 * Where the worker can't start (no worker threads, the module can't be loaded there), the
 * checkpoint runs on the main connection's timer as before.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';

/** How long close() waits for the worker to close its connection (it may be inside a checkpoint). */
const CLOSE_WAIT_MS = 2_000;

// Plain CommonJS run with `eval`, so it needs no build step and no loader.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const Database = require(workerData.module);
const done = new Int32Array(workerData.done);
let db = null;
try {
  db = new Database(workerData.file, { timeout: workerData.busyTimeoutMs, fileMustExist: true });
} catch (err) {
  parentPort.postMessage({ failed: String(err && err.message || err) });
}
const wal = workerData.file + '-wal';
let checkpointedUpTo = 0; // the WAL's mtime when the last checkpoint that ran started
let writingSince = 0; // when this worker first saw a write after that checkpoint
const timer = db && setInterval(() => {
  let written;
  try { written = statSync(wal).mtimeMs; } catch { return; /* no WAL yet */ }
  if (written <= checkpointedUpTo) return;
  const now = Date.now();
  if (writingSince === 0) writingSince = now;
  if (now - written < workerData.quietMs && now - writingSince < workerData.maxDeferMs) return;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    checkpointedUpTo = written;
    writingSince = 0;
  } catch { /* busy or closing: still marked unwritten, so the next tick tries again */ }
}, workerData.tickMs);
parentPort.on('message', (m) => {
  if (m !== 'close') return;
  if (timer) clearInterval(timer);
  try { if (db) db.close(); } catch { /* closing anyway */ }
  Atomics.store(done, 0, 1);
  Atomics.notify(done, 0);
  parentPort.close();
});
`;

export interface CheckpointTiming {
  /** How often the worker looks at the WAL; also the delay before it starts. */
  tickMs: number;
  /** How long nothing must have been written before a checkpoint. */
  quietMs: number;
  /** The longest a checkpoint waits for a quiet moment while writes go on. */
  maxDeferMs: number;
}

/**
 * Starts checkpointing `file` in quiet moments; returns the stop function (synchronous: the worker's
 * connection is closed when it returns). The worker starts after its first tick, so a store that is
 * opened and closed within it (tests, one-shot commands) never starts one.
 */
export function startCheckpoints(db: BetterSqlite3.Database, file: string, timing: CheckpointTiming, busyTimeoutMs: number): () => void {
  if (file === ':memory:' || file === '' || process.env.PARLEY_CHECKPOINT_ON_MAIN === '1') return checkpointOnMainTimer(db, timing.maxDeferMs);
  let stopWorker: (() => void) | null = null;
  let stopped = false;
  const first = setTimeout(() => {
    if (stopped) return;
    stopWorker = startWorker(db, file, timing, busyTimeoutMs);
  }, timing.tickMs);
  first.unref?.();
  return () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(first);
    stopWorker?.();
  };
}

function startWorker(db: BetterSqlite3.Database, file: string, timing: CheckpointTiming, busyTimeoutMs: number): () => void {
  let worker: Worker;
  const done = new SharedArrayBuffer(4);
  const flag = new Int32Array(done);
  try {
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, file, ...timing, busyTimeoutMs, done } });
  } catch {
    return checkpointOnMainTimer(db, timing.maxDeferMs);
  }
  worker.unref();
  let fallback: (() => void) | null = null;
  let stopped = false;
  let exited = false;
  const toMain = (): void => {
    if (!stopped && !fallback) fallback = checkpointOnMainTimer(db, timing.maxDeferMs);
  };
  worker.on('message', (m: { failed?: string }) => { if (m?.failed) toMain(); });
  worker.on('error', toMain);
  worker.on('exit', () => {
    exited = true;
    if (Atomics.load(flag, 0) === 0) toMain();
  });
  return () => {
    if (stopped) return;
    stopped = true;
    fallback?.();
    if (!exited && Atomics.load(flag, 0) === 0) {
      try {
        worker.postMessage('close');
        Atomics.wait(flag, 0, 0, CLOSE_WAIT_MS);
      } catch {
        // the worker is gone already
      }
    }
    void worker.terminate();
  };
}

function checkpointOnMainTimer(db: BetterSqlite3.Database, everyMs: number): () => void {
  const timer = setInterval(() => {
    try {
      if (db.open && !db.inTransaction) db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // busy or closing: the next tick, or the automatic checkpoint, does it
    }
  }, everyMs);
  timer.unref?.();
  return () => clearInterval(timer);
}
