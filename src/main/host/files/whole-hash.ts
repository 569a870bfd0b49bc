/**
 * The received file's whole SHA-256, computed off the event loop (issue 9, file throughput).
 *
 * The receiver's event loop already hashes every chunk once, against the chunk digests the
 * signed offer binds, before the chunk is written and marked verified. The whole file's SHA-256
 * is a second pass over every byte; doing it on the event loop as well made the receiver's main
 * thread the bottleneck of a transfer. Here one worker thread (shared by all incoming transfers)
 * keeps a running hash per file while the transfer goes on:
 *
 * - `written()` hands it the bytes of a run of chunks that was just verified and written, when
 *   the run continues the file exactly where the running hash stands. In a transfer that arrives
 *   in order (the normal case) that is every run, so the file is never read back. The bytes are
 *   copied into buffers of FEED_BYTES that are moved to the worker and back (a small pool): one
 *   message per 2 MiB, and no new memory per message. Fresh buffers each time made the worker,
 *   which allocates nothing else, hold about 64 MiB of them until its garbage collector ran (the
 *   receiver's peak RSS growth went from ~45 to ~110 MiB in the file bench).
 * - Whatever the running hash cannot take in order (chunks that came out of order, chunks
 *   verified before a restart or a resume, duplicates) it reads back from the partial file on
 *   disk once the verified, written prefix reaches past it, and at `finish` to the end.
 *
 * Either way it hashes exactly the verified bytes that were written at those places, which are the
 * bytes that are moved into the downloads folder. The caller decides `done` by comparing the result
 * with the signed offer's SHA-256.
 *
 * The worker is plain JavaScript run with `eval`, so it needs no loader (tsx, Electron, a bundle).
 * If it fails, `finish` rejects and the caller hashes the file on its own thread instead.
 */
import { Worker } from 'node:worker_threads';

/** Fed bytes are sent to the worker in buffers of this size: one message per 2 MiB, not per run. */
export const FEED_BYTES = 2 * 1024 * 1024;
/** Buffers kept for reuse once the worker hands them back. */
const POOL_BUFFERS = 4;

const WORKER_SOURCE = String.raw`
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
const jobs = new Map();
function forget(id) {
  const j = jobs.get(id);
  if (!j) return;
  jobs.delete(id);
  if (j.fd !== null) try { closeSync(j.fd); } catch {}
}
function upTo(j, end) {
  if (j.pos >= end) return;
  if (j.fd === null) j.fd = openSync(j.path, 'r');
  while (j.pos < end) {
    const n = readSync(j.fd, buf, 0, Math.min(buf.length, end - j.pos), j.pos);
    if (n === 0) throw new Error('the file ended at ' + j.pos + ' bytes, before ' + end);
    j.hash.update(buf.subarray(0, n));
    j.pos += n;
    j.read += n;
  }
}
parentPort.on('message', (m) => {
  if (m.op === 'drop') return forget(m.id);
  let j = jobs.get(m.id);
  if (!j) {
    j = { path: m.path, fd: null, pos: 0, hash: createHash('sha256'), error: null, fed: 0, read: 0 };
    jobs.set(m.id, j);
  }
  if (m.op === 'feed') {
    // Bytes that were written at m.pos: used only where they continue the running hash. Anything
    // else (a gap before them, after a restart of this worker) is read back from the file later.
    const end = m.pos + m.bytes.length;
    if (j.error === null && m.pos <= j.pos && end > j.pos) {
      j.hash.update(m.bytes.subarray(j.pos - m.pos));
      j.fed += end - j.pos;
      j.pos = end;
    }
    // The buffer goes back to be filled again.
    parentPort.postMessage({ op: 'free', buffer: m.bytes.buffer }, [m.bytes.buffer]);
    return;
  }
  if (m.op === 'advance') {
    if (j.error === null) try { upTo(j, m.end); } catch (e) { j.error = String(e && e.message || e); }
    return;
  }
  if (m.op === 'finish') {
    if (j.error === null) try { upTo(j, m.end); } catch (e) { j.error = String(e && e.message || e); }
    if (j.error === null && j.pos !== m.end) j.error = 'hashed ' + j.pos + ' bytes of ' + m.end;
    const reply = j.error === null ? { id: m.id, sha256: j.hash.digest('hex'), fed: j.fed, read: j.read } : { id: m.id, error: j.error };
    forget(m.id);
    parentPort.postMessage(reply);
  }
});
`;

type Reply = { id: string; sha256: string; fed: number; read: number } | { id: string; error: string } | { op: 'free'; buffer: ArrayBuffer };

/** A finished file's SHA-256 (hex), and how many of its bytes were hashed as fed and as read back from disk. */
export interface WholeHash { sha256: string; fed: number; read: number }

interface Job {
  /** Where the worker's running hash stands once it has handled every message sent and pending. */
  sent: number;
  /** Fed bytes not sent yet, from `pendingAt` on. */
  pending: Uint8Array[];
  pendingAt: number;
  pendingBytes: number;
}

export class WholeFileHasher {
  private worker: Worker | null = null;
  private readonly pending = new Map<string, { resolve(h: WholeHash): void; reject(err: Error): void }>();
  private readonly jobs = new Map<string, Job>();
  /** FEED_BYTES buffers the worker handed back; `allocated` counts those ever made (for tests). */
  private readonly pool: ArrayBuffer[] = [];
  allocated = 0;

  /**
   * `chunks`, consecutive and starting at byte `position`, were verified and written; bytes
   * [0, prefixEnd) of the file are all verified and written. Continues the running hash with the
   * chunks' bytes where they follow it, and with what is on disk where they do not.
   */
  written(id: string, path: string, position: number, chunks: readonly Uint8Array[], prefixEnd: number): void {
    const j = this.job(id);
    if (position > j.sent && position <= prefixEnd) this.advance(id, path, position);
    let at = position;
    for (const c of chunks) {
      const end = at + c.length;
      if (at <= j.sent && end > j.sent) this.feed(id, path, j, c.subarray(j.sent - at), j.sent);
      at = end;
    }
    this.advance(id, path, prefixEnd);
  }

  /** Bytes [0, end) of the file at `path` are verified and written: hash, from disk, what the running hash lacks of them. */
  advance(id: string, path: string, end: number): void {
    const j = this.job(id);
    if (j.sent >= end) return;
    const w = this.ensure();
    if (!w) return;
    this.flush(id, path, j);
    j.sent = end;
    w.postMessage({ op: 'advance', id, path, end });
  }

  /** The SHA-256 of the file's first `size` bytes, once the worker has read what it was not fed. */
  finish(id: string, path: string, size: number): Promise<WholeHash> {
    const w = this.ensure();
    const j = this.jobs.get(id);
    if (j && w) this.flush(id, path, j);
    this.jobs.delete(id);
    if (!w) return Promise.reject(new Error('no hash worker'));
    if (this.pending.has(id)) return Promise.reject(new Error('already finishing'));
    return new Promise<WholeHash>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ op: 'finish', id, path, end: size });
    });
  }

  /** Forgets a file (its transfer failed or was cancelled): the worker closes it. */
  drop(id: string): void {
    this.jobs.delete(id);
    this.worker?.postMessage({ op: 'drop', id });
  }

  close(): void {
    const w = this.worker;
    this.worker = null;
    this.jobs.clear();
    this.failAll(new Error('closed'));
    void w?.terminate();
  }

  private job(id: string): Job {
    let j = this.jobs.get(id);
    if (!j) {
      j = { sent: 0, pending: [], pendingAt: 0, pendingBytes: 0 };
      this.jobs.set(id, j);
    }
    return j;
  }

  private feed(id: string, path: string, j: Job, bytes: Uint8Array, at: number): void {
    if (j.pendingBytes + bytes.length > FEED_BYTES) this.flush(id, path, j);
    if (j.pendingBytes === 0) j.pendingAt = at;
    j.pending.push(bytes);
    j.pendingBytes += bytes.length;
    j.sent = at + bytes.length;
    if (j.pendingBytes >= FEED_BYTES) this.flush(id, path, j);
  }

  /**
   * Sends the pending fed bytes, copied into a buffer of our own that is moved (not copied) to the
   * worker and comes back: the chunks' own buffers may be views into memory something else owns
   * (a WebSocket frame), and are not kept.
   */
  private flush(id: string, path: string, j: Job): void {
    if (j.pendingBytes === 0) return;
    const n = j.pendingBytes;
    const buffer = n <= FEED_BYTES ? this.pool.pop() ?? this.allocate() : new ArrayBuffer(n); // larger: one chunk over 2 MiB
    const bytes = new Uint8Array(buffer, 0, n);
    let off = 0;
    for (const c of j.pending) {
      bytes.set(c, off);
      off += c.length;
    }
    const pos = j.pendingAt;
    j.pending = [];
    j.pendingBytes = 0;
    this.ensure()?.postMessage({ op: 'feed', id, path, pos, bytes }, [buffer]);
  }

  private allocate(): ArrayBuffer {
    this.allocated++;
    return new ArrayBuffer(FEED_BYTES);
  }

  private ensure(): Worker | null {
    if (this.worker) return this.worker;
    let w: Worker;
    try {
      w = new Worker(WORKER_SOURCE, { eval: true });
    } catch {
      return null;
    }
    w.unref();
    w.on('message', (r: Reply) => {
      if ('op' in r) {
        if (this.worker === w && this.pool.length < POOL_BUFFERS && r.buffer.byteLength === FEED_BYTES) this.pool.push(r.buffer);
        return;
      }
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (this.pending.size === 0) w.unref();
      if ('sha256' in r) p.resolve({ sha256: r.sha256, fed: r.fed, read: r.read });
      else p.reject(new Error(r.error));
    });
    const lost = (err: Error): void => {
      if (this.worker !== w) return;
      this.worker = null;
      // Its state (open files, running hashes) is gone: the next call starts a file again from 0.
      this.jobs.clear();
      this.failAll(err);
    };
    w.on('error', lost);
    w.on('exit', (code) => lost(new Error(`hash worker exited (${code})`)));
    this.worker = w;
    return w;
  }

  private failAll(err: Error): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) p.reject(err);
  }
}
