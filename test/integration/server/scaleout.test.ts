/**
 * Two `parley server` broker processes on one Redis act as one broker: A on one and B on the
 * other befriend, connect and chat; B moves to the other broker mid-conversation, and what was
 * sent meanwhile (chat, and a contact request queued in B's persistent session) arrives once.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { HeadlessPeer, befriend, messagesWith, tempProfile, waitConnected } from '../../helpers/headless-peer';
import { startServerProcess, type ServerProcess } from '../../helpers/parley-server';
import { dropPrefix, REDIS_URL, uniquePrefix } from '../../helpers/redis';

const prefix = uniquePrefix('scaleout');
const servers: ServerProcess[] = [];
const peers: HeadlessPeer[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.quit()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});
afterAll(async () => {
  await dropPrefix(prefix);
});

describe('two broker processes on one Redis', () => {
  it('A on one, B on the other: befriend, chat, B switches brokers mid-conversation, nothing lost or repeated', async () => {
    const args = ['--redis', REDIS_URL, '--redis-prefix', prefix, '--log-level', 'warn'];
    const [s1, s2] = await Promise.all([startServerProcess(args), startServerProcess(args)]);
    servers.push(s1, s2);
    expect(s1.ready.mqtt).not.toBe(s2.ready.mqtt);

    const a = await HeadlessPeer.start({ profile: tempProfile('so-a'), name: 'a', broker: String(s1.ready.mqtt) });
    const profileB = tempProfile('so-b');
    const b1 = await HeadlessPeer.start({ profile: profileB, name: 'b', broker: String(s2.ready.mqtt) });
    const c = await HeadlessPeer.start({ profile: tempProfile('so-c'), name: 'c', broker: String(s2.ready.mqtt) });
    peers.push(a, c);
    await befriend(a, b1);

    const sent: string[] = [];
    const send = async (from: HeadlessPeer, to: string, text: string): Promise<string> => {
      const id = String((await from.ok({ op: 'send', to, text }, 90_000)).id);
      sent.push(id);
      return id;
    };
    const first = [await send(a, b1.userId, 'a1'), await send(b1, a.userId, 'b1'), await send(a, b1.userId, 'a2')];
    for (const id of first) await (id === first[1] ? a : b1).waitFor((l) => l.event === 'message' && l.id === id, 90_000);

    // B leaves broker 2; while it is away A keeps talking and C (on broker 2) asks B to be a contact.
    const bId = b1.userId;
    await b1.quit();
    const whileAway = [await send(a, bId, 'a3 while b moves'), await send(a, bId, 'a4 while b moves')];
    await c.signalingUp(90_000);
    await c.ok({ op: 'contact.add', userId: bId, name: 'b' }, 90_000);

    // B comes back on broker 1.
    const since = a.lines.length;
    const b = await HeadlessPeer.start({ profile: profileB, name: 'b', broker: String(s1.ready.mqtt) });
    peers.push(b);
    await b.waitFor((l) => l.event === 'contactRequest' && l.userId === c.userId, 60_000);
    await waitConnected(a, bId, 90_000, since);
    for (const id of whileAway) {
      await b.waitFor((l) => l.event === 'message' && l.id === id, 90_000);
      await a.waitFor((l) => l.event === 'status' && l.id === id && l.status === 'delivered', 90_000);
    }
    const after = [await send(b, a.userId, 'b2 from broker 1'), await send(a, bId, 'a5')];
    await a.waitFor((l) => l.event === 'message' && l.id === after[0], 90_000);
    await b.waitFor((l) => l.event === 'message' && l.id === after[1], 90_000);
    await a.waitFor((l) => l.event === 'status' && l.id === after[1] && l.status === 'delivered', 90_000);

    // Every message exactly once on both sides, in both stores.
    const onA = await messagesWith(a, bId);
    const onB = await messagesWith(b, a.userId);
    for (const list of [onA, onB]) {
      expect(list.map((m) => m.id).sort()).toEqual([...sent].sort());
    }
    expect(onB.map((m) => m.text)).toEqual(expect.arrayContaining(['a3 while b moves', 'a4 while b moves', 'a5']));
    expect(b.lines.filter((l) => l.event === 'message' && whileAway.includes(String(l.id)))).toHaveLength(2);
    expect(b.lines.filter((l) => l.event === 'contactRequest' && l.userId === c.userId)).toHaveLength(1);
    // and C, still on broker 2, gets B's acceptance through Redis
    await b.ok({ op: 'contact.accept', userId: c.userId });
    await c.waitFor((l) => l.event === 'contactAccepted' && l.userId === bId, 60_000);
  }, 480_000);
});
