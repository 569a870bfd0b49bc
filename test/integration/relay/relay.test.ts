// Issue 8 part 3 with real processes and real WebRTC: A and C can't connect directly (a test ICE
// filter drops every candidate between them) but both have a channel to B, who relays for its
// contacts. They chat through B both ways; B's database and logged frames hold no plaintext; a
// direct path that appears later takes over with nothing lost or shown twice; B going away moves
// them to store and forward (the mailbox) without loss.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openBroker, type TestBroker } from '../../helpers/brokers';
import { messagesWith, type HeadlessPeer, type Line } from '../../helpers/headless-peer';
import { TestCluster } from '../mailbox/cluster';
import { eventually, startTrio, statsOf, viaDirect, viaRelay, type Msg } from './support';

describe('relay through a peer', () => {
  let broker: TestBroker;
  let cluster: TestCluster;
  const running: HeadlessPeer[] = [];

  beforeAll(async () => {
    broker = await openBroker('embedded');
    cluster = await TestCluster.start({ size: 1 });
  }, 60_000);
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.quit()));
  });
  afterAll(async () => {
    await cluster?.stop();
    await broker?.close();
  });

  const texts = (n: number, tag: string): string[] => Array.from({ length: n }, (_, i) => `${tag} ${String(i).padStart(2, '0')}`);
  const sendAll = async (p: HeadlessPeer, to: string, list: string[]): Promise<string[]> => {
    const ids: string[] = [];
    for (const text of list) ids.push(String((await p.ok({ op: 'send', to, text })).id));
    return ids;
  };
  const delivered = (p: HeadlessPeer, other: string, ids: string[]): Promise<Msg[]> =>
    eventually(() => messagesWith(p, other), (ms) => ids.every((id) => ms.find((m) => m.id === id)?.status === 'delivered'), 120_000);
  const shownOnce = (p: HeadlessPeer, from: string): string[] => {
    const shown = p.lines.filter((l: Line) => l.event === 'message' && l.from === from);
    expect(new Set(shown.map((l) => l.id)).size).toBe(shown.length);
    return shown.map((l) => String(l.text));
  };

  it('A and C chat through B both ways; B holds and logs no plaintext; a later direct path takes over with no loss or duplicate', async () => {
    const { a, b, c, all, unblock } = await startTrio({ broker: broker.url, mailbox: cluster.seeds.join(',') });
    running.push(...all);
    await Promise.all([viaRelay(a, c.userId), viaRelay(c, a.userId)]);

    const peersA = (await a.ok({ op: 'peers' })).peers as { userId: string; state: string; path: string }[];
    expect(peersA.find((p) => p.userId === c.userId)).toMatchObject({ state: 'CONNECTED', path: 'relay' });
    const trace = (await a.ok({ op: 'route', userId: c.userId })).trace as { path?: string; relayVia?: string; result: string };
    expect(trace).toMatchObject({ path: 'relay', relayVia: b.userId, result: 'connected' });

    const aToC = texts(15, 'secret from alice via bob');
    const cToA = texts(15, 'secret from carol via bob');
    const [idsA, idsC] = await Promise.all([sendAll(a, c.userId, aToC), sendAll(c, a.userId, cToA)]);
    await Promise.all([delivered(a, c.userId, idsA), delivered(c, a.userId, idsC)]);
    const onC = await messagesWith(c, a.userId);
    expect(onC.filter((m) => m.from === a.userId).map((m) => m.text)).toEqual(aToC);
    expect(shownOnce(c, a.userId)).toEqual(aToC);
    expect(shownOnce(a, c.userId)).toEqual(cToA);

    // B forwarded sealed frames and can't read them: not in its log, not in its database files.
    const bStats = await statsOf(b);
    expect(bStats.relay.server.framesForwarded).toBeGreaterThan(0);
    const bLog = b.stderr.join('');
    expect(bLog).toMatch(/\[relay\] frame /);
    const bDb = readdirSync(b.opts.profile).filter((f) => f.startsWith('parley.db')).map((f) => readFileSync(join(b.opts.profile, f)));
    expect(bDb.length).toBeGreaterThan(0);
    for (const text of [...aToC, ...cToA, 'secret from']) {
      expect(bLog.includes(text)).toBe(false);
      for (const file of bDb) expect(file.includes(Buffer.from(text))).toBe(false);
    }
    const cStats = await statsOf(c);
    expect(cStats.relay.paths[a.userId]).toBe(`relay:${b.userId}`);

    // The block lifts and A retries: the direct path takes over while messages keep flowing.
    const since = a.lines.length;
    unblock();
    const more = texts(10, 'after the switch');
    const sending = sendAll(a, c.userId, more);
    await a.ok({ op: 'retry', userId: c.userId });
    const moreIds = await sending;
    await viaDirect(a, c.userId, since);
    const moreC = texts(5, 'carol direct');
    const moreCIds = await sendAll(c, a.userId, moreC);
    await Promise.all([delivered(a, c.userId, [...idsA, ...moreIds]), delivered(c, a.userId, [...idsC, ...moreCIds])]);
    const finalC = await messagesWith(c, a.userId);
    expect(finalC.filter((m) => m.from === a.userId).map((m) => m.text)).toEqual([...aToC, ...more]);
    expect(shownOnce(c, a.userId)).toEqual([...aToC, ...more]);
    expect(shownOnce(a, c.userId)).toEqual([...cToA, ...moreC]);
    expect((await statsOf(a)).relay.paths[c.userId]).toBe('direct');
    const peersAfter = (await a.ok({ op: 'peers' })).peers as { userId: string; path: string }[];
    expect(peersAfter.find((p) => p.userId === c.userId)?.path).toBe('direct');
  }, 600_000);

  it('B going away moves A and C to store and forward without loss', async () => {
    const { a, b, c, all } = await startTrio({ broker: broker.url, mailbox: cluster.seeds.join(',') });
    running.push(a, c);
    await Promise.all([viaRelay(a, c.userId), viaRelay(c, a.userId)]);
    const first = texts(5, 'through bob');
    const firstIds = await sendAll(a, c.userId, first);
    await delivered(a, c.userId, firstIds);

    await b.kill('SIGKILL');
    expect(all).toContain(b);
    const aSince = a.lines.length;
    await a.waitFor((l) => l.event === 'connection' && l.userId === c.userId && l.path === 'none', 120_000, aSince);
    const later = texts(10, 'after bob left');
    const laterIds = await sendAll(a, c.userId, later);
    const back = texts(5, 'carol after bob left');
    const backIds = await sendAll(c, a.userId, back);

    // Held by the mailbox (stored) on each sender; each recipient fetches them, once and in order.
    await eventually(() => messagesWith(a, c.userId), (ms) => laterIds.every((id) => ['stored', 'delivered'].includes(ms.find((m) => m.id === id)?.status ?? '')), 120_000);
    await eventually(() => messagesWith(c, a.userId), (ms) => backIds.every((id) => ['stored', 'delivered'].includes(ms.find((m) => m.id === id)?.status ?? '')), 120_000);
    const onC = await eventually(() => messagesWith(c, a.userId), (ms) => ms.filter((m) => m.from === a.userId).length === 15, 120_000);
    expect(onC.filter((m) => m.from === a.userId).map((m) => m.text)).toEqual([...first, ...later]);
    const onA = await eventually(() => messagesWith(a, c.userId), (ms) => ms.filter((m) => m.from === c.userId).length === 5, 120_000);
    expect(onA.filter((m) => m.from === c.userId).map((m) => m.text)).toEqual(back);
    expect(shownOnce(c, a.userId)).toEqual([...first, ...later]);
    expect(shownOnce(a, c.userId)).toEqual(back);
  }, 600_000);
});
