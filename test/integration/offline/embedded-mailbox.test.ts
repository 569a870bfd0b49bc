// No setup: with the embedded broker (no --broker, no --mailbox) the background `parley server`
// also runs the one-node mailbox, so Alice's deposits outlive her and reach Carol, who starts
// after Alice quit. Ports and folder are this run's own (PARLEY_EMBEDDED_*).
import { afterAll, describe, expect, it } from 'vitest';
import { readEmbeddedInfo } from '../../../src/server/embedded/proof';
import { befriend, eventually, HeadlessPeer, messagesWith, tempProfile } from '../../helpers/headless-peer';
import { embeddedEnv } from '../../helpers/embedded-env';


const pids: number[] = [];
const peers: HeadlessPeer[] = [];
afterAll(async () => {
  await Promise.all(peers.splice(0).map((p) => p.quit()));
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
});

describe('embedded mailbox (zero setup)', () => {
  it('the background server holds Alice\'s deposits after she quits; Carol gets them once', async () => {
    const env = await embeddedEnv(120_000);
    const start = async (profile: string, name: string): Promise<HeadlessPeer> => {
      const p = await HeadlessPeer.start({ profile, name, env });
      peers.push(p);
      return p;
    };
    const stop = async (p: HeadlessPeer): Promise<void> => {
      peers.splice(peers.indexOf(p), 1);
      await p.quit();
    };
    const profileC = tempProfile('emb-carol');
    const alice = await start(tempProfile('emb-alice'), 'alice');
    const info = readEmbeddedInfo(env.PARLEY_EMBEDDED_DATA_DIR);
    expect(info).not.toBeNull();
    pids.push(info!.pid);
    let carol = await start(profileC, 'carol');
    await befriend(alice, carol);
    await stop(carol);

    const want = ['one', 'two', 'three', 'four', 'five'].map((w) => `embedded ${w}`);
    for (const text of want) await alice.ok({ op: 'send', to: carol.userId, text });
    await eventually(() => messagesWith(alice, carol.userId), (ms) => ms.filter((m) => m.status === 'stored').length === 5, 60_000);
    await stop(alice);

    carol = await start(profileC, 'carol');
    const got = await eventually(() => messagesWith(carol, alice.userId), (ms) => ms.length >= 5, 60_000);
    expect(got.map((m) => m.text)).toEqual(want);
    expect(carol.lines.filter((l) => l.event === 'message').length).toBe(5);
  }, 180_000);
});
