import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { moveIntoFolder, numberedName, sanitizeFileName } from '../../../src/main/host/files/names';
import { missingRanges, newBitmap, setBit } from '../../../src/main/host/files/ranges';

describe('received file names', () => {
  it.each([
    ['../../etc/passwd', 'passwd'],
    ['..\\..\\Windows\\System32\\evil.dll', 'evil.dll'],
    ['..', 'file'],
    ['...', 'file'],
    ['', 'file'],
    ['/', 'file'],
    ['CON', '_CON'],
    ['nul.txt', '_nul.txt'],
    ['com1.tar.gz', '_com1.tar.gz'],
    ['LPT9', '_LPT9'],
    ['a<b>c:d"e|f?g*h', 'a_b_c_d_e_f_g_h'],
    ['tab\there\nnewline', 'tab_here_newline'],
    ['trailing dots...', 'trailing dots'],
    ['photo.jpg', 'photo.jpg'],
    ['Übersicht 2024.pdf', 'Übersicht 2024.pdf'],
  ])('%j becomes %j', (offered, safe) => {
    const s = sanitizeFileName(offered);
    expect(s.name).toBe(safe);
    expect(s.changed).toBe(offered !== safe);
  });

  it('keeps the extension when it shortens a long name to 200 bytes', () => {
    const s = sanitizeFileName(`${'ü'.repeat(300)}.jpeg`);
    expect(Buffer.byteLength(s.name)).toBeLessThanOrEqual(200);
    expect(s.name.endsWith('.jpeg')).toBe(true);
  });

  it('never yields a name that leaves the folder or is reserved, whatever is offered', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (offered) => {
      const { name } = sanitizeFileName(offered);
      expect(name).not.toMatch(/[/\\\u0000]/);
      expect(name).not.toMatch(/^\.+$/);
      expect(name).not.toMatch(/^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i);
      expect(name.length).toBeGreaterThan(0);
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(200);
    }), { numRuns: 2000 });
  });

  it('numbers clashes before the extension', () => {
    expect(numberedName('a.txt', 0)).toBe('a.txt');
    expect(numberedName('a.txt', 2)).toBe('a (2).txt');
    expect(numberedName('Makefile', 1)).toBe('Makefile (1)');
  });

  it('moves into the folder without overwriting: the third copy becomes "x (2).bin"', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-names-'));
    const out = join(dir, 'downloads');
    const paths: string[] = [];
    for (let i = 0; i < 3; i++) {
      const temp = join(dir, `t${i}.part`);
      writeFileSync(temp, `copy ${i}`);
      if (i === 0) mkdirSync(out);
      paths.push(moveIntoFolder(temp, out, 'x.bin'));
      expect(existsSync(temp)).toBe(false);
    }
    expect(paths.map((p) => p.slice(out.length + 1))).toEqual(['x.bin', 'x (1).bin', 'x (2).bin']);
    expect(paths.every((p) => dirname(p) === out)).toBe(true);
    expect(readFileSync(join(out, 'x.bin'), 'utf8')).toBe('copy 0');
    expect(readdirSync(out).sort()).toEqual(['x (1).bin', 'x (2).bin', 'x.bin']);
  });
});

describe('missing chunk ranges', () => {
  it('lists the gaps and stretches the last range once there are too many', () => {
    const bits = newBitmap(10);
    for (const i of [0, 1, 4, 7]) setBit(bits, i);
    expect(missingRanges(bits, 10, 64)).toEqual([[2, 4], [5, 7], [8, 10]]);
    expect(missingRanges(bits, 10, 2)).toEqual([[2, 4], [5, 10]]);
    for (let i = 0; i < 10; i++) setBit(bits, i);
    expect(missingRanges(bits, 10, 64)).toEqual([]);
  });
});
