import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../../src/main/store';
import { makeTempDir, rawDb } from './helpers';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const writerScript = join(here, 'fixtures/outbox-writer.ts');
const BOB = 'b'.repeat(64);

let tmp: ReturnType<typeof makeTempDir>;
beforeEach(() => { tmp = makeTempDir(); });
afterEach(() => tmp.cleanup());

describe('outbox on a real file', () => {
  it('keeps its order, attempts and errors across close and reopen', () => {
    const file = join(tmp.dir, 'profile.db');
    const first = openStore(file);
    for (const [i, id] of ['q1', 'q2', 'q3', 'q4'].entries()) {
      first.saveOutgoing({ id, peer: BOB, sender: 'a'.repeat(64), recipient: BOB, text: id, ts: 100 - i }, `env-${id}`);
    }
    first.markAttempt('q2', 12_345, 'ice failed');
    first.removeFromOutbox('q3');
    first.close();

    const second = openStore(file);
    expect(second.outboxFor(BOB).map((e) => [e.msgId, e.envelope, e.attempts, e.lastError])).toEqual([
      ['q1', 'env-q1', 0, null],
      ['q2', 'env-q2', 1, 'ice failed'],
      ['q4', 'env-q4', 0, null],
    ]);
    expect(second.outboxPeers()).toEqual([BOB]);
    second.saveOutgoing({ id: 'q5', peer: BOB, sender: 'a'.repeat(64), recipient: BOB, text: 'q5', ts: 1 }, 'env-q5');
    expect(second.outboxFor(BOB).map((e) => e.msgId)).toEqual(['q1', 'q2', 'q4', 'q5']);
    second.close();
  });
});

interface WriterRun {
  saved: string[];
  acked: Set<string>;
  signal: NodeJS.Signals | null;
}

/** Runs the writer until it has saved `killAfter` messages, SIGKILLs it, and returns everything it reported. */
function runWriterAndKill(file: string, prefix: string, killAfter: number): Promise<WriterRun> {
  return new Promise((resolvePromise, reject) => {
    // `node --import tsx` (what `npx tsx` runs) so the process we kill is the writer itself,
    // not an npx/tsx wrapper that would leave the writer running.
    const child = spawn(process.execPath, ['--import', 'tsx', writerScript, file, prefix], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const saved: string[] = [];
    const acked = new Set<string>();
    let stderr = '';
    let buffered = '';
    let killed = false;
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [kind, id] = line.split(' ');
        if (kind === 'saved' && id) saved.push(id);
        if (kind === 'acked' && id) acked.add(id);
      }
      if (!killed && saved.length >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    // 'close' waits for stdout to drain: every line printed before death is counted.
    child.on('close', (_code, signal) => {
      if (!killed) reject(new Error(`writer exited by itself (signal ${signal}): ${stderr}`));
      else resolvePromise({ saved, acked, signal });
    });
  });
}

describe('crash safety', () => {
  it('a database written by a process killed with SIGKILL mid-loop reopens consistent, with every returned save', async () => {
    const file = join(tmp.dir, 'crash.db');
    const allSaved: string[] = [];
    const allAcked = new Set<string>();
    // Several rounds on the same file, each killed at a different point (and recovering the previous round's WAL).
    for (const [round, killAfter] of [150, 337, 90].entries()) {
      const run = await runWriterAndKill(file, `r${round}`, killAfter);
      expect(run.signal).toBe('SIGKILL');
      expect(run.saved.length).toBeGreaterThanOrEqual(killAfter);
      allSaved.push(...run.saved);
      for (const id of run.acked) allAcked.add(id);
      // The kill left an un-checkpointed WAL behind: reopening has to recover from it.
      expect(existsSync(`${file}-wal`)).toBe(true);
      expect(statSync(`${file}-wal`).size).toBeGreaterThan(0);

      const raw = rawDb(file);
      expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(raw.pragma('foreign_key_check')).toEqual([]);
      // A message is pending exactly when it has an outbox row: no half-saved message, no orphan row,
      // no half-applied ACK.
      const mismatched = raw.prepare(`
        SELECT m.id, m.status, o.msg_id FROM messages m LEFT JOIN outbox o ON o.msg_id = m.id
        WHERE (m.status = 'pending') <> (o.msg_id IS NOT NULL)`).all();
      expect(mismatched).toEqual([]);
      const orphans = raw.prepare('SELECT msg_id FROM outbox WHERE msg_id NOT IN (SELECT id FROM messages)').all();
      expect(orphans).toEqual([]);
      raw.close();

      // The kill can land after a commit but before its report line: per round, at most one save
      // and one ACK may have happened without our hearing of it. Everything reported must be there.
      const store = openStore(file);
      const queued = store.outboxFor(BOB).map((e) => e.msgId);
      const queuedSet = new Set(queued);
      const reported = new Set(allSaved);
      const unreportedSaves = queued.filter((id) => !reported.has(id));
      const unreportedAcks = allSaved.filter((id) => !allAcked.has(id) && !queuedSet.has(id));
      expect(unreportedSaves.length).toBeLessThanOrEqual(round + 1);
      expect(unreportedAcks.length).toBeLessThanOrEqual(round + 1);
      for (const id of allSaved) {
        const m = store.getMessage(id);
        expect(m, `message ${id} returned from saveOutgoing before the kill`).toBeDefined();
        const acked = allAcked.has(id) || unreportedAcks.includes(id);
        expect(m?.status).toBe(acked ? 'delivered' : 'pending');
        expect(queuedSet.has(id)).toBe(!acked);
      }
      // Outbox order is save order.
      expect(queued.filter((id) => reported.has(id))).toEqual(allSaved.filter((id) => queuedSet.has(id)));
      store.close();
    }
  }, 180_000);
});
