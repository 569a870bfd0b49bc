/** Three headless peers where A and C can't connect directly (test ICE filter) but both reach B. */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, HeadlessPeer, tempProfile, waitConnected, type Line } from '../../helpers/headless-peer';

const SLOW = 180_000;

/** befriend() with timeouts for a machine at load 20+ (several peers start at once here). */
export async function befriendSlow(a: HeadlessPeer, b: HeadlessPeer): Promise<void> {
  await Promise.all([a.signalingUp(SLOW), b.signalingUp(SLOW)]);
  await a.ok({ op: 'contact.add', userId: b.userId, name: b.opts.name ?? 'b' }, SLOW);
  await b.waitFor((l) => l.event === 'contactRequest' && l.userId === a.userId, SLOW);
  await b.ok({ op: 'contact.accept', userId: a.userId }, SLOW);
  await a.waitFor((l) => l.event === 'contactAccepted' && l.userId === b.userId, SLOW);
  await waitConnected(a, b.userId, SLOW);
  await waitConnected(b, a.userId, SLOW);
}

export interface Trio {
  a: HeadlessPeer;
  b: HeadlessPeer;
  c: HeadlessPeer;
  /** Lets A and C connect directly from now on (the filter reads its file on every signal). */
  unblock(): void;
  all: HeadlessPeer[];
}

export interface TrioOptions {
  broker: string;
  /** --mailbox value for all three. */
  mailbox: string;
  /** Extra args for B (it always gets --relay). */
  relayArgs?: string[];
  relayEnv?: NodeJS.ProcessEnv;
}

export async function startTrio(opts: TrioOptions): Promise<Trio> {
  const dir = tempProfile('relay-filter');
  const blockA = join(dir, 'a.block');
  const blockC = join(dir, 'c.block');
  writeFileSync(blockA, '');
  writeFileSync(blockC, '');
  const common = ['--mailbox', opts.mailbox, '--mailbox-poll-ms', '2000'];
  const [a, b, c] = await Promise.all([
    HeadlessPeer.start({ readyTimeoutMs: 180_000, profile: tempProfile('relay-a'), name: 'alice', broker: opts.broker, extraArgs: common, env: { PARLEY_TEST_ICE_BLOCK_FILE: blockA } }),
    HeadlessPeer.start({ readyTimeoutMs: 180_000, profile: tempProfile('relay-b'), name: 'bob', broker: opts.broker, extraArgs: [...common, '--relay', ...(opts.relayArgs ?? [])], env: { PARLEY_DEBUG: '1', ...opts.relayEnv } }),
    HeadlessPeer.start({ readyTimeoutMs: 180_000, profile: tempProfile('relay-c'), name: 'carol', broker: opts.broker, extraArgs: common, env: { PARLEY_TEST_ICE_BLOCK_FILE: blockC } }),
  ]) as [HeadlessPeer, HeadlessPeer, HeadlessPeer];
  writeFileSync(blockA, `${c.userId}\n`);
  writeFileSync(blockC, `${a.userId}\n`);
  await befriendSlow(a, b);
  await befriendSlow(c, b);
  // A and C become contacts; their direct attempts fail, so B's relay is their path.
  await a.ok({ op: 'contact.add', userId: c.userId, name: 'carol' });
  await c.waitFor((l) => l.event === 'contactRequest' && l.userId === a.userId, SLOW);
  await c.ok({ op: 'contact.accept', userId: a.userId }, SLOW);
  return {
    a, b, c, all: [a, b, c],
    unblock: () => {
      rmSync(blockA, { force: true });
      rmSync(blockC, { force: true });
    },
  };
}

export function viaRelay(p: HeadlessPeer, other: string, timeoutMs = 180_000): Promise<Line> {
  return p.waitFor((l) => l.event === 'connection' && l.userId === other && l.state === 'CONNECTED' && l.path === 'relay', timeoutMs);
}

export function viaDirect(p: HeadlessPeer, other: string, since: number, timeoutMs = 180_000): Promise<Line> {
  return p.waitFor((l) => l.event === 'connection' && l.userId === other && l.state === 'CONNECTED' && l.path === 'direct', timeoutMs, since);
}

export type Msg = { id: string; from: string; text: string; status: string };

export async function statsOf(p: HeadlessPeer): Promise<{ rejected: Record<string, number>; relay: { server: Record<string, number>; client: Record<string, number>; paths: Record<string, string> } }> {
  const r = await p.ok({ op: 'stats' });
  return r as unknown as { rejected: Record<string, number>; relay: { server: Record<string, number>; client: Record<string, number>; paths: Record<string, string> } };
}

export { eventually };
