/**
 * The received file's whole SHA-256, computed off the event loop (issue 9, file throughput).
 *
 * The receiver's event loop already hashes every chunk once, against the chunk digests the
 * signed offer binds, before the chunk is written and marked verified. The whole file's SHA-256
 * is a second pass over every byte; doing it on the event loop as well made the receiver's main
 * thread the bottleneck of a transfer. Here one worker thread (shared by all incoming transfers)
 * reads each file back from disk (the page cache, in practice) as far as its verified, written
 * in-order prefix reaches, while the transfer goes on, and finishes the rest (chunks that came
 * out of order, after a resume) when the last chunk is in. What it hashes is what is on disk: the
 * bytes that will be moved into the downloads folder.
 *
 * The worker is plain JavaScript run with `eval`, so it needs no loader (tsx, Electron, a bundle).
 * If it fails, `finish` rejects and the caller hashes the file on its own thread instead.
 */
import { Worker } from 'node:worker_threads';

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
  if (j.fd === null) j.fd = openSync(j.path, 'r');
  while (j.pos < end) {
    const n = readSync(j.fd, buf, 0, Math.min(buf.length, end - j.pos), j.pos);
    if (n === 0) throw new Error('the file ended at ' + j.pos + ' bytes, before ' + end);
    j.hash.update(buf.subarray(0, n));
    j.pos += n;
  }
}
parentPort.on('message', (m) => {
  if (m.op === 'drop') return forget(m.id);
  let j = jobs.get(m.id);
  if (!j) {
    j = { path: m.path, fd: null, pos: 0, hash: createHash('sha256'), error: null };
    jobs.set(m.id, j);
  }
  if (m.op === 'advance') {
    if (j.error === null) try { upTo(j, m.end); } catch (e) { j.error = String(e && e.message || e); }
    return;
  }
  if (m.op === 'finish') {
    if (j.error === null) try { upTo(j, m.end); } catch (e) { j.error = String(e && e.message || e); }
    const reply = j.error === null ? { id: m.id, sha256: j.hash.digest('hex') } : { id: m.id, error: j.error };
    forget(m.id);
    parentPort.postMessage(reply);
  }
});
`;

type Reply = { id: string; sha256: string } | { id: string; error: string };

export class WholeFileHasher {
  private worker: Worker | null = null;
  private readonly pending = new Map<string, { resolve(hex: string): void; reject(err: Error): void }>();
  /** Bytes already handed to the worker per file, so repeated advances to the same place are not sent. */
  private readonly advanced = new Map<string, number>();

  /** Bytes [0, end) of the file at `path` are verified and written: hash them in the background. */
  advance(id: string, path: string, end: number): void {
    if ((this.advanced.get(id) ?? 0) >= end) return;
    const w = this.ensure();
    if (!w) return;
    this.advanced.set(id, end);
    w.postMessage({ op: 'advance', id, path, end });
  }

  /** The SHA-256 (hex) of the file's first `size` bytes, once the worker has read what it had not yet. */
  finish(id: string, path: string, size: number): Promise<string> {
    const w = this.ensure();
    this.advanced.delete(id);
    if (!w) return Promise.reject(new Error('no hash worker'));
    if (this.pending.has(id)) return Promise.reject(new Error('already finishing'));
    return new Promise<string>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ op: 'finish', id, path, end: size });
    });
  }

  /** Forgets a file (its transfer failed or was cancelled): the worker closes it. */
  drop(id: string): void {
    this.advanced.delete(id);
    this.worker?.postMessage({ op: 'drop', id });
  }

  close(): void {
    const w = this.worker;
    this.worker = null;
    this.advanced.clear();
    this.failAll(new Error('closed'));
    void w?.terminate();
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
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (this.pending.size === 0) w.unref();
      if ('sha256' in r) p.resolve(r.sha256);
      else p.reject(new Error(r.error));
    });
    const lost = (err: Error): void => {
      if (this.worker !== w) return;
      this.worker = null;
      // Its state (open files, partial hashes) is gone: the next advance starts a file again from 0.
      this.advanced.clear();
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
