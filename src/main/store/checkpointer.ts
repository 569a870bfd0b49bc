/**
 * WAL checkpoints off the event loop (issue 11, tails). A PASSIVE checkpoint copies the WAL back
 * and fsyncs twice: measured 2.4-8.4 ms here, and better-sqlite3 runs it on the calling thread, so
 * on the main connection's 1 s timer every peer stalled its event loop that long once a second:
 * the delivery p99 (a round trip that met a checkpoint on either side). A worker thread with its own
 * connection to the same file does it instead; WAL mode lets it run beside the main connection's
 * writes, and the durability is the same (the same checkpoint, the same syncs, only elsewhere).
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
const Database = require(workerData.module);
const done = new Int32Array(workerData.done);
let db = null;
try {
  db = new Database(workerData.file, { timeout: workerData.busyTimeoutMs, fileMustExist: true });
} catch (err) {
  parentPort.postMessage({ failed: String(err && err.message || err) });
}
const timer = db && setInterval(() => {
  // With nothing new in the WAL this returns without copying or syncing anything.
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy or closing: the next tick does it */ }
}, workerData.everyMs);
parentPort.on('message', (m) => {
  if (m !== 'close') return;
  if (timer) clearInterval(timer);
  try { if (db) db.close(); } catch { /* closing anyway */ }
  Atomics.store(done, 0, 1);
  Atomics.notify(done, 0);
  parentPort.close();
});
`;

/**
 * Starts checkpointing `file` every `everyMs`; returns the stop function (synchronous: the worker's
 * connection is closed when it returns). The worker starts at the first tick, so a store that is
 * opened and closed within it (tests, one-shot commands) never starts one.
 */
export function startCheckpoints(db: BetterSqlite3.Database, file: string, everyMs: number, busyTimeoutMs: number): () => void {
  if (file === ':memory:' || file === '' || process.env.PARLEY_CHECKPOINT_ON_MAIN === '1') return checkpointOnMainTimer(db, everyMs);
  let stopWorker: (() => void) | null = null;
  let stopped = false;
  const first = setTimeout(() => {
    if (stopped) return;
    stopWorker = startWorker(db, file, everyMs, busyTimeoutMs);
  }, everyMs);
  first.unref?.();
  return () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(first);
    stopWorker?.();
  };
}

function startWorker(db: BetterSqlite3.Database, file: string, everyMs: number, busyTimeoutMs: number): () => void {
  let worker: Worker;
  const done = new SharedArrayBuffer(4);
  const flag = new Int32Array(done);
  try {
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, file, everyMs, busyTimeoutMs, done } });
  } catch {
    return checkpointOnMainTimer(db, everyMs);
  }
  worker.unref();
  let fallback: (() => void) | null = null;
  let stopped = false;
  let exited = false;
  const toMain = (): void => {
    if (!stopped && !fallback) fallback = checkpointOnMainTimer(db, everyMs);
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
