// A contact who is online but cannot be reached directly (every ICE candidate between the two is
// dropped) and has no relay: messages go to the mailbox once an attempt has failed, while the mesh
// is still retrying (RECONNECTING), not only after it gives up (FAILED, about 100 s later), and
// the contact gets them from the mailbox once, in order.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBroker, type TestBroker } from '../../helpers/brokers';
import { eventually, HeadlessPeer, messagesWith, tempProfile, type Line } from '../../helpers/headless-peer';
import { TestCluster } from '../mailbox/cluster';

describe('an online contact with no direct path and no relay', () => {
  let broker: TestBroker;
  let cluster: TestCluster;
  const peers: HeadlessPeer[] = [];

  beforeAll(async () => {
    broker = await openBroker('embedded');
    cluster = await TestCluster.start({ size: 1 });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.quit()));
    await cluster?.stop();
    await broker?.close();
  });

  it('gets the messages through the mailbox while the direct attempts are still being retried', async () => {
    const dir = tempProfile('no-path');
    const blockA = join(dir, 'a.block');
    const blockC = join(dir, 'c.block');
    writeFileSync(blockA, '');
    writeFileSync(blockC, '');
    const common = ['--mailbox', cluster.seeds.join(','), '--mailbox-poll-ms', '2000'];
    const [a, c] = await Promise.all([
      HeadlessPeer.start({ profile: tempProfile('no-path-a'), name: 'alice', broker: broker.url, extraArgs: common, env: { PARLEY_TEST_ICE_BLOCK_FILE: blockA } }),
      HeadlessPeer.start({ profile: tempProfile('no-path-c'), name: 'carol', broker: broker.url, extraArgs: common, env: { PARLEY_TEST_ICE_BLOCK_FILE: blockC } }),
    ]);
    peers.push(a, c);
    writeFileSync(blockA, `${c.userId}\n`);
    writeFileSync(blockC, `${a.userId}\n`);
    await Promise.all([a.signalingUp(), c.signalingUp()]);
    await a.ok({ op: 'contact.add', userId: c.userId, name: 'carol' });
    await c.waitFor((l) => l.event === 'contactRequest' && l.userId === a.userId, 60_000);
    await c.ok({ op: 'contact.accept', userId: a.userId });

    // Carol is online and found, so the mesh tries her directly; the first attempt times out.
    const toCarol = (l: Line): boolean => l.event === 'connection' && l.userId === c.userId;
    await a.waitFor((l) => toCarol(l) && l.state === 'RECONNECTING', 120_000);
    const since = a.lines.length;

    const want = ['one', 'two', 'three'];
    const ids: string[] = [];
    for (const text of want) ids.push(String((await a.ok({ op: 'send', to: c.userId, text })).id));
    await eventually(() => messagesWith(a, c.userId), (ms) => ids.every((id) => ['stored', 'delivered'].includes(ms.find((m) => m.id === id)?.status ?? '')), 150_000);

    const meanwhile = a.lines.slice(since).filter((l) => toCarol(l) && ['FAILED', 'STORE_AND_FORWARD', 'CONNECTED'].includes(String(l.state)));
    expect(meanwhile, 'stored while the mesh was still retrying').toEqual([]);

    const onC = await eventually(() => messagesWith(c, a.userId), (ms) => ms.filter((m) => m.from === a.userId).length === want.length, 60_000);
    expect(onC.map((m) => m.text)).toEqual(want);
    const shown = c.lines.filter((l) => l.event === 'message' && l.from === a.userId).map((l) => l.id);
    expect(shown).toEqual(ids);
    await eventually(() => messagesWith(a, c.userId), (ms) => ids.every((id) => ms.find((m) => m.id === id)?.status === 'delivered'), 60_000);
  }, 300_000);
});
