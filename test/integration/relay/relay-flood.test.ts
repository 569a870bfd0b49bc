// A contact floods the relay (real WebRTC, real `parley peer` relay): H, a host in this process,
// gets a relayed pair to C through B the ordinary way, then pushes sealed junk through it as fast
// as its channel takes it, and asks B for pairs to hundreds of strangers. B forwards within the
// pair's bandwidth cap and drops the rest (counted), refuses the requests (counted), its memory
// stays bounded, and the legitimate pair A↔C is still served meanwhile.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../../src/shared/identity';
import { randomId } from '../../../src/shared/ids';
import { toBase64 } from '../../../src/shared/encoding';
import { openBroker, type TestBroker } from '../../helpers/brokers';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
import { eventually, HeadlessPeer, messagesWith, tempProfile } from '../../helpers/headless-peer';
import { befriendInProc, startInProc, type InProcPeer } from './inproc';
import { befriendSlow, statsOf, viaRelay } from './support';

const LIMITS = { maxPairs: 3, maxPairsPerPeer: 2, pairBytesPerSec: 256 * 1024, pairBurstBytes: 512 * 1024, totalBytesPerSec: 1024 * 1024, totalBurstBytes: 2 * 1024 * 1024 };

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

describe('relay flood', () => {
  let broker: TestBroker;
  let h: InProcPeer;
  let a: HeadlessPeer;
  let b: HeadlessPeer;
  let c: HeadlessPeer;
  const savedEnv = process.env.PARLEY_TEST_ICE_BLOCK_FILE;

  beforeAll(async () => {
    broker = await openBroker('embedded');
    const dir = tempProfile('relay-flood');
    const block = { a: join(dir, 'a'), c: join(dir, 'c'), h: join(dir, 'h') };
    for (const f of Object.values(block)) writeFileSync(f, '');
    [a, b, c] = await Promise.all([
      HeadlessPeer.start({ readyTimeoutMs: 180_000, profile: tempProfile('flood-a'), name: 'alice', broker: broker.url, extraArgs: ['--mailbox', 'none'], env: { PARLEY_TEST_ICE_BLOCK_FILE: block.a } }),
      HeadlessPeer.start({ readyTimeoutMs: 180_000, profile: tempProfile('flood-b'), name: 'bob', broker: broker.url, extraArgs: ['--mailbox', 'none', '--relay'], env: { PARLEY_RELAY_LIMITS: JSON.stringify(LIMITS) } }),
      HeadlessPeer.start({ readyTimeoutMs: 180_000, profile: tempProfile('flood-c'), name: 'carol', broker: broker.url, extraArgs: ['--mailbox', 'none'], env: { PARLEY_TEST_ICE_BLOCK_FILE: block.c } }),
    ]);
    process.env.PARLEY_TEST_ICE_BLOCK_FILE = block.h;
    h = await startInProc({ broker: broker.url });
    writeFileSync(block.a, `${c.userId}\n`);
    writeFileSync(block.c, `${a.userId}\n${h.host.userId}\n`);
    writeFileSync(block.h, `${c.userId}\n`);
    await befriendSlow(a, b);
    await befriendSlow(c, b);
    await befriendInProc(h, b);
    await a.ok({ op: 'contact.add', userId: c.userId, name: 'carol' });
    await c.waitFor((l) => l.event === 'contactRequest' && l.userId === a.userId, 180_000);
    await c.ok({ op: 'contact.accept', userId: a.userId }, 180_000);
    await h.host.handle('contacts.add', { userId: c.userId, name: 'carol' });
    await c.waitFor((l) => l.event === 'contactRequest' && l.userId === h.host.userId, 180_000);
    await c.ok({ op: 'contact.accept', userId: h.host.userId }, 180_000);
    await Promise.all([viaRelay(a, c.userId), viaRelay(c, h.host.userId)]);
  }, 400_000);
  afterAll(async () => {
    if (savedEnv === undefined) delete process.env.PARLEY_TEST_ICE_BLOCK_FILE;
    else process.env.PARLEY_TEST_ICE_BLOCK_FILE = savedEnv;
    await Promise.all([a?.quit(), b?.quit(), c?.quit()]);
    await h?.host.close();
    await broker?.close();
  });

  it('caps the flooding pair, refuses the request flood, keeps memory bounded and serves A↔C meanwhile', async () => {
    const rssBefore = rssBytes(b.pid!);
    // Requests for strangers: each refused and counted, none kept.
    for (let i = 0; i < 500; i++) h.sendEnvelope(b.userId, 'RELAY_REQUEST', { target: generateIdentity().userId, requestId: randomId() });

    // Junk through H's open pair to C, as fast as H's channel to B takes it (40 KiB a frame).
    const junk = toBase64(new Uint8Array(30 * 1024).map(() => Math.floor(Math.random() * 256)));
    let flooding = true;
    let sent = 0;
    const flood = (async () => {
      while (flooding && sent < 3000) {
        while (h.mesh.bufferedAmount(b.userId) > 4 * 1024 * 1024) await sleep(5);
        if (h.sendEnvelope(b.userId, 'RELAY', { target: c.userId, frame: junk })) sent++;
        if (sent % 50 === 0) await sleep(0);
      }
    })();

    // Meanwhile A and C talk through B.
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(String((await a.ok({ op: 'send', to: c.userId, text: `during the flood ${i}` }, 120_000)).id));
    await eventually(() => messagesWith(a, c.userId), (ms) => ids.every((id) => ms.find((m) => m.id === id)?.status === 'delivered'), 300_000);
    const rssPeak = rssBytes(b.pid!);
    flooding = false;
    await flood;

    const bs = await statsOf(b);
    expect(sent).toBeGreaterThan(100);
    expect(bs.rejected['relay:UNAUTHORIZED'] ?? 0).toBeGreaterThanOrEqual(500);
    expect(bs.rejected['relay:RATE_LIMITED'] ?? 0).toBeGreaterThan(0);
    expect(bs.relay.server.pairs).toBeLessThanOrEqual(LIMITS.maxPairs);
    // Forwarded bytes stay within what the buckets allow over the flood's duration (plus bursts).
    expect(bs.relay.server.framesDropped).toBeGreaterThan(0);
    // Nothing queued on B: its memory grew by far less than what H pushed at it.
    const pushed = sent * junk.length;
    expect(rssPeak - rssBefore).toBeLessThan(100 * 1024 * 1024);
    expect(pushed).toBeGreaterThan(4 * 1024 * 1024);
    // C opened none of the junk and showed none of it; A's messages arrived once each.
    const cs = await statsOf(c);
    expect(cs.rejected['relay:DECRYPT_FAILED'] ?? 0).toBeGreaterThan(0);
    expect((await messagesWith(c, h.host.userId)).length).toBe(0);
    const shown = c.lines.filter((l) => l.event === 'message' && l.from === a.userId).map((l) => l.text);
    expect(shown).toEqual(Array.from({ length: 20 }, (_, i) => `during the flood ${i}`));
  }, 600_000);
});
