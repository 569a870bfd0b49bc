/**
 * Findings 14 and 16 against a real `parley peer --json` child process: a 200 MiB line without a
 * newline, and a retry aimed at someone who is not a contact.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { HeadlessPeer, tempProfile } from '../../helpers/headless-peer';

const NO_BROKER = 'mqtt://127.0.0.1:9';
const RSS_GROWTH_CAP_MIB = 100;

function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  return kb / 1024;
}

describe('control protocol under attack', () => {
  const peers: HeadlessPeer[] = [];
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.quit()));
  });

  it(`reads a 200 MiB line without a newline in bounded memory (growth < ${RSS_GROWTH_CAP_MIB} MiB), answers OVERSIZE and keeps working`, async () => {
    const p = await HeadlessPeer.start({ profile: tempProfile('big'), broker: NO_BROKER });
    peers.push(p);
    await p.ok({ op: 'whoami' });
    const before = rssMiB(p.pid!);
    const chunk = Buffer.alloc(1024 * 1024, 0x61); // 'a' × 1 MiB
    let peak = before;
    for (let i = 0; i < 200; i++) {
      await p.writeBytes(chunk);
      if (i % 10 === 0) peak = Math.max(peak, rssMiB(p.pid!));
    }
    peak = Math.max(peak, rssMiB(p.pid!));
    const oversize = await p.waitFor((l) => l.ok === false && (l.error as { code?: string } | undefined)?.code === 'OVERSIZE', 60_000);
    expect((oversize.error as { message: string }).message).toContain('bytes');
    p.writeRaw('\n');
    const who = await p.ok({ op: 'whoami' }, 60_000);
    expect(who.userId).toBe(p.userId);
    console.log(`control line flood: rss before ${before.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB`);
    expect(peak - before).toBeLessThan(RSS_GROWTH_CAP_MIB);
  }, 180_000);

  it('refuses a retry for someone who is not a contact with a typed error', async () => {
    const p = await HeadlessPeer.start({ profile: tempProfile('retry'), broker: NO_BROKER });
    peers.push(p);
    const reply = await p.request({ op: 'retry', userId: 'c'.repeat(64) });
    expect(reply.ok).toBe(false);
    expect((reply.error as { code: string }).code).toBe('NOT_A_CONTACT');
    const peers2 = await p.ok({ op: 'peers' });
    expect(peers2.peers).toEqual([]);
  }, 60_000);
});
