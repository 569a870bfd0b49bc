/** Helpers for file-transfer tests: random files, their SHA-256, and waiting on `file` events. */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import type { HeadlessPeer, Line } from '../../helpers/headless-peer';

/** Writes `bytes` of random data in 1 MiB pieces (never the whole file in memory). */
export function randomFile(dir: string, name: string, bytes: number): string {
  const path = join(dir, name);
  if (bytes === 0) {
    writeFileSync(path, '');
    return path;
  }
  const fd = openSync(path, 'w');
  try {
    for (let done = 0; done < bytes; ) {
      const n = Math.min(1024 * 1024, bytes - done);
      writeSync(fd, randomBytes(n));
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

export function sha256OfFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
  });
}

export function fileEvent(p: HeadlessPeer, id: string, state: string, timeoutMs = 120_000): Promise<Line> {
  return p.waitFor((l) => l.event === 'file' && l.id === id && l.state === state, timeoutMs);
}

/** Resolves with the first terminal event (done or failed) of a transfer. */
/** Waits for done or failed; the default stays under vitest's 180 s test timeout, so a hang reports the peer's last lines. */
export function settled(p: HeadlessPeer, id: string, timeoutMs = 150_000): Promise<Line> {
  return p.waitFor((l) => l.event === 'file' && l.id === id && (l.state === 'done' || l.state === 'failed'), timeoutMs);
}

/** A real PNG of random RGB pixels (incompressible: about 3 bytes a pixel), for thumbnail tests. */
export function makePng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = Buffer.concat(Array.from({ length: height }, () => Buffer.concat([Buffer.from([0]), randomBytes(width * 3)])));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0)),
  ]);
}
