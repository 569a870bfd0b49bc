import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LineSplitter } from '../../../src/cli/line-splitter';

function run(max: number, chunks: string[]): { lines: string[]; oversize: number } {
  const lines: string[] = [];
  let oversize = 0;
  const s = new LineSplitter(max, { line: (l) => lines.push(l), oversize: () => oversize++ });
  for (const c of chunks) s.push(Buffer.from(c));
  s.end();
  return { lines, oversize };
}

describe('LineSplitter', () => {
  it('joins lines split across chunks and strips CR', () => {
    expect(run(100, ['ab', 'c\r\nde', 'f\n', 'g'])).toEqual({ lines: ['abc', 'def', 'g'], oversize: 0 });
  });

  it('drops a line over the limit once and resumes after its newline', () => {
    expect(run(4, ['12', '345', '678\nok\n', '123456789', '\nlast'])).toEqual({ lines: ['ok', 'last'], oversize: 2 });
  });

  it('gives the same lines as split() whatever the chunking, for lines within the limit', () => {
    fc.assert(fc.property(fc.array(fc.string({ maxLength: 8 }).filter((l) => !l.includes('\n')), { maxLength: 10 }), fc.array(fc.nat(20), { maxLength: 10 }), (lines, cuts) => {
      const text = lines.map((l) => `${l}\n`).join('');
      const chunks: string[] = [];
      let at = 0;
      for (const c of cuts) { chunks.push(text.slice(at, at + c)); at += c; }
      chunks.push(text.slice(at));
      const got = run(1000, chunks);
      expect(got.lines).toEqual(lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)));
    }));
  });
});
