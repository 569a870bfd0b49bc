import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openBroker, type TestBroker } from '../../helpers/brokers';
import { befriend, eventually, HeadlessPeer, messagesWith, tempProfile, waitConnected } from '../../helpers/headless-peer';

const COUNT = 50;

describe('messages written while the other side is away', () => {
  let broker: TestBroker;
  const peers: HeadlessPeer[] = [];
  beforeAll(async () => {
    broker = await openBroker('embedded');
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.quit()));
  });
  afterAll(async () => {
    await broker.close();
  });

  const start = async (profile: string, name: string): Promise<HeadlessPeer> => {
    const p = await HeadlessPeer.start({ profile, name, broker: broker.url });
    peers.push(p);
    return p;
  };

  async function expectAllDeliveredOnce(a: HeadlessPeer, b: HeadlessPeer, texts: string[]): Promise<void> {
    const onA = await eventually(() => messagesWith(a, b.userId), (ms) => ms.filter((m) => m.from === a.userId && m.status === 'delivered').length === texts.length, 90_000);
    expect(onA.filter((m) => m.from === a.userId).map((m) => m.text)).toEqual(texts);
    const onB = await messagesWith(b, a.userId);
    expect(onB.map((m) => m.text)).toEqual(texts);
    expect(new Set(onB.map((m) => m.id)).size).toBe(texts.length);
    // Shown once: one `message` event per id on B's side.
    const shown = b.lines.filter((l) => l.event === 'message' && l.from === a.userId).map((l) => l.id);
    expect(shown.length).toBe(new Set(shown).size);
  }

  it('B stops, A sends 50, B starts again: all 50 shown once, in order, all delivered on A', async () => {
    const profileB = tempProfile('b');
    const a = await start(tempProfile('a'), 'a');
    let b = await start(profileB, 'b');
    await befriend(a, b);
    await b.quit();
    peers.splice(peers.indexOf(b), 1);

    const texts = Array.from({ length: COUNT }, (_, i) => `offline message ${String(i).padStart(2, '0')}`);
    for (const text of texts) await a.ok({ op: 'send', to: b.userId, text });
    const pending = await messagesWith(a, b.userId);
    expect(pending.every((m) => m.status === 'pending')).toBe(true);

    const beforeReturn = a.lines.length;
    b = await start(profileB, 'b');
    await waitConnected(a, b.userId, 60_000, beforeReturn);
    await expectAllDeliveredOnce(a, b, texts);
  });

  it('A killed with SIGKILL while flushing, restarted: still all 50 once and in order', async () => {
    const profileA = tempProfile('a');
    const profileB = tempProfile('b');
    let a = await start(profileA, 'a');
    let b = await start(profileB, 'b');
    await befriend(a, b);
    await b.quit();
    peers.splice(peers.indexOf(b), 1);

    const texts = Array.from({ length: COUNT }, (_, i) => `kill test ${String(i).padStart(2, '0')}`);
    for (const text of texts) await a.ok({ op: 'send', to: b.userId, text });

    b = await start(profileB, 'b');
    // Kill A as soon as the first messages leave, in the middle of flushing its outbox.
    await a.waitFor((l) => l.event === 'status' && l.status === 'sent', 60_000);
    await a.kill('SIGKILL');
    peers.splice(peers.indexOf(a), 1);
    a = await start(profileA, 'a');
    await waitConnected(a, b.userId, 60_000);
    await expectAllDeliveredOnce(a, b, texts);
  });
});
