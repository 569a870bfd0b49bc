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
    expect(await hasher.finish('a', path, all.length)).toBe(createHash('sha256').update(all).digest('hex'));
  });

  it('finishes a file it was never told about by reading it whole; an empty file too', async () => {
    const path = join(dir, 'whole.part');
    const data = randomBytes(1024 * 1024 + 1);
    writeFileSync(path, data);
    expect(await hasher.finish('b', path, data.length)).toBe(createHash('sha256').update(data).digest('hex'));
    const empty = join(dir, 'empty.part');
    writeFileSync(empty, '');
    expect(await hasher.finish('c', empty, 0)).toBe(createHash('sha256').digest('hex'));
  });

  it('rejects a file shorter than it should be, or one that is missing (the caller then hashes it itself)', async () => {
    const path = join(dir, 'short.part');
    writeFileSync(path, randomBytes(1000));
    await expect(hasher.finish('d', path, 2000)).rejects.toThrow(/ended at 1000 bytes/);
    await expect(hasher.finish('e', join(dir, 'missing.part'), 10)).rejects.toThrow(/ENOENT/);
  });

  it('a dropped file starts again from zero if it is used again', async () => {
    const path = join(dir, 'dropped.part');
    const data = randomBytes(200_000);
    writeFileSync(path, data);
    hasher.advance('f', path, 100_000);
    hasher.drop('f');
    expect(await hasher.finish('f', path, data.length)).toBe(createHash('sha256').update(data).digest('hex'));
  });
});
