/** Shared by the coordinator tests: real `parley peer` processes on one test broker, no mailbox unless asked. */
import Database from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, HeadlessPeer, messagesWith, type Line } from '../../helpers/headless-peer';

export type Msg = { id: string; from: string; text: string; status: string; ts: number };

export interface CoordStats { enabled: boolean; held: number; heldBytes: number; accepted: number; refused: number; forwarded: number; dropped: number; purged: number; receivedForwarded: number }

export class Peers {
  private readonly running: HeadlessPeer[] = [];
  constructor(private readonly brokerUrl: () => string) {}

  async start(profile: string, name: string, extra: string[] = []): Promise<HeadlessPeer> {
    const p = await HeadlessPeer.start({
      profile, name, broker: this.brokerUrl(),
      extraArgs: ['--heartbeat-ms', '1000', '--offline-after-ms', '4000', ...(extra.includes('--mailbox') ? [] : ['--mailbox', 'none']), ...extra],
    });
    this.running.push(p);
    return p;
  }

  async stop(p: HeadlessPeer, how: 'quit' | 'kill' = 'quit'): Promise<void> {
    const i = this.running.indexOf(p);
    if (i >= 0) this.running.splice(i, 1);
    if (how === 'kill') await p.kill('SIGKILL');
    else await p.quit();
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.running.splice(0).map((p) => p.quit()));
  }
}

export async function coordStats(p: HeadlessPeer): Promise<CoordStats> {
  return (await p.ok({ op: 'stats' })).coordinator as CoordStats;
}

export async function rejected(p: HeadlessPeer): Promise<Record<string, number>> {
  return (await p.ok({ op: 'stats' })).rejected as Record<string, number>;
}

export function texts(n: number, tag: string): string[] {
  return Array.from({ length: n }, (_, i) => `${tag} ${String(i).padStart(2, '0')}`);
}

/** Waits until `n` of a's messages to `other` have `status`. */
export async function allWithStatus(a: HeadlessPeer, other: string, n: number, status: string, timeoutMs = 90_000): Promise<Msg[]> {
  return eventually(async () => (await messagesWith(a, other, 5000)) as Msg[], (ms) => ms.filter((m) => m.from === a.userId && m.status === status).length === n, timeoutMs, 200);
}

/** Each of `want` shown once (message events and the stored list), in order, and nothing else from `from`. */
export function shownOnce(c: HeadlessPeer, from: string, want: string[], got: Msg[]): { listed: string[]; events: number; distinct: number } {
  const shown = c.lines.filter((l: Line) => l.event === 'message' && l.from === from).map((l) => String(l.id));
  return { listed: got.filter((m) => m.from === from).map((m) => m.text), events: shown.length, distinct: new Set(shown).size };
}

/** Rows of the coordinator's held_messages table, read from its SQLite file (the peer must have quit). */
export function heldRows(profile: string): number {
  const db = new Database(join(profile, 'parley.db'), { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM held_messages').pluck().get() as number;
  } finally {
    db.close();
  }
}

/** The outbox rows of a sender's SQLite file: their next_attempt_at (STORED_AT = parked, never retried on a timer). */
export function outboxNextAttempts(profile: string): number[] {
  const db = new Database(join(profile, 'parley.db'), { readonly: true });
  try {
    return db.prepare('SELECT next_attempt_at FROM outbox ORDER BY order_seq').pluck().all() as number[];
  } finally {
    db.close();
  }
}

/** Whether `text` occurs in a profile's database file or its WAL (raw bytes). */
export function dbFilesContain(profile: string, text: string): boolean {
  const needle = Buffer.from(text);
  return ['parley.db', 'parley.db-wal'].map((f) => join(profile, f)).filter(existsSync).some((f) => readFileSync(f).includes(needle));
}
