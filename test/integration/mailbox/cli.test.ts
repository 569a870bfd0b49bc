// `parley mailbox client --json` against a real single-node cluster: JSON lines in, JSON lines
// out, in input order; bad lines get an error and the client keeps going.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from './cluster';

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

function runClient(seeds: string[], lines: unknown[]): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolveOut, reject) => {
    const p = spawn(process.execPath, ['bin/parley.mjs', 'mailbox', 'client', '--seeds', seeds.join(','), '--json'], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`client exited ${code}: ${err}`));
      resolveOut(out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
    });
    p.stdin.end(lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  });
}

describe('parley mailbox client --json', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 1 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('runs create/append/read/ack/cluster in order and rejects bad lines', async () => {
    const out = await runClient(cluster.seeds, [
      { op: 'create', queue: 'box:alice' },
      { op: 'append', queue: 'box:alice', data: 'sealed-1', reqId: 'm1' },
      { op: 'append', queue: 'box:alice', data: 'sealed-1', reqId: 'm1' },
      { op: 'append', queue: 'box:alice', data: 'sealed-2', reqId: 'm2' },
      '{not json',
      { op: 'teleport' },
      { op: 'read', queue: 'box:alice', clientId: 'phone', reqId: 'r1' },
      { op: 'ack', queue: 'box:alice', clientId: 'phone', seq: 1 },
      { op: 'read', queue: 'box:alice', clientId: 'phone' },
      { op: 'ack', queue: 'box:alice', clientId: 'phone', seq: 2 },
      { op: 'read', queue: 'box:alice', clientId: 'phone' },
      { op: 'cluster' },
      { op: 'quit' },
    ]);
    expect(out[0]).toMatchObject({ event: 'ready' });
    const replies = out.slice(1);
    expect(replies.slice(0, 11)).toEqual([
      { ok: true },
      { ok: true, seq: 1, reqId: 'm1' },
      { ok: true, seq: 1, reqId: 'm1' }, // same reqId: de-duplicated
      { ok: true, seq: 2, reqId: 'm2' },
      expect.objectContaining({ ok: false, error: expect.objectContaining({ code: 'BAD_JSON' }) }),
      expect.objectContaining({ ok: false, error: expect.objectContaining({ code: 'SCHEMA' }) }),
      { ok: true, seq: 1, data: 'sealed-1', reqId: 'r1' },
      { ok: true },
      { ok: true, seq: 2, data: 'sealed-2' },
      { ok: true },
      { ok: true, empty: true },
    ]);
    expect(replies[11]).toMatchObject({ ok: true, leader: { id: 'n1' }, members: [{ id: 'n1', role: 'voter' }] });
    expect(replies[12]).toEqual({ ok: true });
  });
});
