import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WholeFileHasher } from '../../../src/main/host/files/whole-hash';

describe('WholeFileHasher (the received file\'s SHA-256 on a worker thread)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-whole-hash-'));
  const hasher = new WholeFileHasher();
  afterAll(() => hasher.close());

  it('hashes a file that grows while it is being hashed, and the rest at finish', async () => {
    const path = join(dir, 'growing.part');
    const parts = [randomBytes(3 * 1024 * 1024 + 7), randomBytes(5 * 1024 * 1024), randomBytes(12345)];
    writeFileSync(path, parts[0]!);
    hasher.advance('a', path, parts[0]!.length);
    appendFileSync(path, parts[1]!);
    hasher.advance('a', path, parts[0]!.length + parts[1]!.length);
    hasher.advance('a', path, 1000); // behind what it already has: ignored
    appendFileSync(path, parts[2]!);
    const all = Buffer.concat(parts);
    expect((await hasher.finish('a', path, all.length)).sha256).toBe(createHash('sha256').update(all).digest('hex'));
  });

  it('finishes a file it was never told about by reading it whole; an empty file too', async () => {
    const path = join(dir, 'whole.part');
    const data = randomBytes(1024 * 1024 + 1);
    writeFileSync(path, data);
    expect((await hasher.finish('b', path, data.length)).sha256).toBe(createHash('sha256').update(data).digest('hex'));
    const empty = join(dir, 'empty.part');
    writeFileSync(empty, '');
    expect((await hasher.finish('c', empty, 0)).sha256).toBe(createHash('sha256').digest('hex'));
  });

  it('rejects a file shorter than it should be, or one that is missing (the caller then hashes it itself)', async () => {
    const path = join(dir, 'short.part');
    writeFileSync(path, randomBytes(1000));
    await expect(hasher.finish('d', path, 2000)).rejects.toThrow(/ended at 1000 bytes/);
    await expect(hasher.finish('e', join(dir, 'missing.part'), 10)).rejects.toThrow(/ENOENT/);
  });

  const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
  /** A file of `n` chunks of `size` bytes (the last one shorter), on disk, and its chunks. */
  const chunked = (name: string, n: number, size = 64 * 1024): { path: string; data: Buffer; chunks: Buffer[] } => {
    const data = randomBytes(n * size - 123);
    const path = join(dir, name);
    writeFileSync(path, data);
    const chunks = Array.from({ length: n }, (_, i) => data.subarray(i * size, Math.min(data.length, (i + 1) * size)));
    return { path, data, chunks };
  };

  it('chunks written in order are hashed as they come: the file is never read back', async () => {
    const { path, data, chunks } = chunked('in-order.part', 70); // several FEED_BYTES batches and a tail
    for (let i = 0; i < chunks.length; i += 3) {
      const run = chunks.slice(i, i + 3);
      hasher.written('g', path, i * 64 * 1024, run, Math.min(data.length, (i + 3) * 64 * 1024));
    }
    expect(await hasher.finish('g', path, data.length)).toEqual({ sha256: sha(data), fed: data.length, read: 0 });
  });

  it('the buffers that carry fed bytes to the worker come back and are used again', async () => {
    // Fresh ones per message made the worker hold ~64 MiB of them until its GC ran.
    const feedAll = async (id: string, name: string): Promise<void> => {
      const { path, data, chunks } = chunked(name, 128); // 8 MiB: four buffers' worth
      chunks.forEach((c, i) => hasher.written(id, path, i * 64 * 1024, [c], Math.min(data.length, (i + 1) * 64 * 1024)));
      expect(await hasher.finish(id, path, data.length)).toEqual({ sha256: sha(data), fed: data.length, read: 0 });
    };
    await feedAll('k', 'pool-1.part');
    const made = hasher.allocated;
    await feedAll('l', 'pool-2.part');
    await feedAll('m', 'pool-3.part');
    expect(hasher.allocated).toBe(made);
  });

  it('hashes what it was fed, not what the disk says, for the bytes it took in order', async () => {
    // What decides `done` is the verified bytes that were written; the partial file changed
    // behind the receiver's back is out of its reach either way (the old re-read came from the
    // page cache too). This pins down which bytes the result covers.
    const { path, data, chunks } = chunked('fed.part', 4);
    writeFileSync(path, Buffer.alloc(data.length, 0xee));
    hasher.written('h', path, 0, chunks, data.length);
    expect((await hasher.finish('h', path, data.length)).sha256).toBe(sha(data));
  });

  it('out of order, duplicated, or verified before a restart: it reads back from disk only what it could not take in order', async () => {
    const cs = 64 * 1024;
    const a = chunked('out-of-order.part', 4);
    // The last chunk first (as after a resume), chunk 0 twice.
    hasher.written('i', a.path, 3 * cs, [a.chunks[3]!], 0);
    hasher.written('i', a.path, 0, [a.chunks[0]!], cs);
    hasher.written('i', a.path, 0, [a.chunks[0]!], cs);
    hasher.written('i', a.path, cs, [a.chunks[1]!, a.chunks[2]!], a.data.length);
    expect(await hasher.finish('i', a.path, a.data.length)).toEqual({ sha256: sha(a.data), fed: 3 * cs, read: a.data.length - 3 * cs });

    // After a restart: chunks 0..5 were verified in the previous run, then 6 and 7 arrive.
    const b = chunked('restarted.part', 8);
    hasher.written('j', b.path, 6 * cs, [b.chunks[6]!, b.chunks[7]!], b.data.length);
    expect(await hasher.finish('j', b.path, b.data.length)).toEqual({ sha256: sha(b.data), fed: b.data.length - 6 * cs, read: 6 * cs });
  });

  it('a dropped file starts again from zero if it is used again', async () => {
    const path = join(dir, 'dropped.part');
    const data = randomBytes(200_000);
    writeFileSync(path, data);
    hasher.advance('f', path, 100_000);
    hasher.drop('f');
    expect((await hasher.finish('f', path, data.length)).sha256).toBe(createHash('sha256').update(data).digest('hex'));
  });
});
