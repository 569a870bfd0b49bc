import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFully, writeFully } from '../../../src/main/host/files/block-io';

describe('block-io', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-blockio-'));

  it('writes a run of chunks at an offset and reads them back into separate buffers', async () => {
    const path = join(dir, 'a.bin');
    writeFileSync(path, Buffer.alloc(10));
    const chunks = [randomBytes(7), randomBytes(64 * 1024), randomBytes(3)];
    const fh = await open(path, 'r+');
    try {
      await writeFully(fh, chunks, 10);
      const back = chunks.map((c) => Buffer.alloc(c.length));
      await readFully(fh, back, 10);
      back.forEach((b, i) => expect(b.equals(chunks[i]!)).toBe(true));
    } finally {
      await fh.close();
    }
    expect(readFileSync(path).subarray(10).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('throws when the file ends before the buffers are full', async () => {
    const path = join(dir, 'short.bin');
    writeFileSync(path, randomBytes(100));
    const fh = await open(path, 'r');
    try {
      await expect(readFully(fh, [Buffer.alloc(60), Buffer.alloc(60)], 0)).rejects.toThrow(/short read/);
    } finally {
      await fh.close();
    }
  });
});
