/**
 * Before the embedded servers moved into the background `parley server`, the first app instance
 * ran the embedded mailbox itself, with its data in `~/.parley/embedded-mailbox` (or
 * PARLEY_EMBEDDED_MAILBOX_DIR). Messages deposited for offline contacts may still wait there, so
 * the embedded server moves that folder into its own (`DATA/mailbox`) once, the first time it
 * starts, and notes it in `DATA/mailbox-migration.json` so it never looks again.
 *
 * It runs while the server holds its data folder's lock (the broker's LevelDB), so two servers
 * can't both move it; an old instance still serving the folder (its `owner.pid` is alive) is left
 * alone until a later start.
 */
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export type MailboxMigrationOutcome = 'moved' | 'nothing' | 'done-before' | 'in-use' | 'kept-both';

export interface MailboxMigration {
  outcome: MailboxMigrationOutcome;
  from: string | null;
  to: string;
}

export const MIGRATION_MARKER = 'mailbox-migration.json';
const OWNER_PID = 'owner.pid';

/**
 * The old mailbox folder for this embedded data folder: PARLEY_EMBEDDED_MAILBOX_DIR when set, else
 * `~/.parley/embedded-mailbox` when the data folder is the default `~/.parley/embedded-server`
 * (a data folder moved elsewhere was set up after the change, or by hand: nothing to guess).
 */
export function legacyMailboxDir(dataDir: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.PARLEY_EMBEDDED_MAILBOX_DIR) return env.PARLEY_EMBEDDED_MAILBOX_DIR;
  const parley = join(env.HOME || homedir(), '.parley');
  return resolve(dataDir) === resolve(join(parley, 'embedded-server')) ? join(parley, 'embedded-mailbox') : null;
}

export function migrateLegacyMailbox(dataDir: string, legacy: string | null = legacyMailboxDir(dataDir)): MailboxMigration {
  const to = join(dataDir, 'mailbox');
  const marker = join(dataDir, MIGRATION_MARKER);
  if (existsSync(marker)) return { outcome: 'done-before', from: legacy, to };
  if (!legacy || resolve(legacy) === resolve(to) || !hasData(legacy)) return { outcome: 'nothing', from: legacy, to };
  const owner = Number(readText(join(legacy, OWNER_PID)));
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) return { outcome: 'in-use', from: legacy, to };
  let outcome: MailboxMigrationOutcome;
  if (hasData(to)) {
    // Two Raft logs can't be merged; the old one stays where it is, and the operator is told.
    outcome = 'kept-both';
  } else {
    rmSync(to, { recursive: true, force: true });
    try {
      renameSync(legacy, to);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      cpSync(legacy, to, { recursive: true });
      rmSync(legacy, { recursive: true, force: true });
    }
    rmSync(join(to, OWNER_PID), { force: true });
    outcome = 'moved';
  }
  writeFileSync(marker, JSON.stringify({ outcome, from: legacy, to, at: new Date().toISOString() }), { mode: 0o600 });
  return { outcome, from: legacy, to };
}

function hasData(dir: string): boolean {
  try {
    return readdirSync(dir).some((name) => name !== OWNER_PID);
  } catch {
    return false;
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
