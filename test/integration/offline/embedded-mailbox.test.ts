// No setup: with the embedded broker (no --broker, no --mailbox) the background `parley server`
// also runs the one-node mailbox, so Alice's deposits outlive her and reach Carol, who starts
// after Alice quit. Ports and folder are this run's own (PARLEY_EMBEDDED_*).
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readEmbeddedInfo } from '../../../src/server/embedded/proof';
import { befriend, eventually, HeadlessPeer, messagesWith, tempProfile } from '../../helpers/headless-peer';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

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
    const env = {
      PARLEY_EMBEDDED_MQTT_PORT: String(await freePort()),
      PARLEY_EMBEDDED_MQTT_WS_PORT: String(await freePort()),
      PARLEY_EMBEDDED_MAILBOX_PORT: String(await freePort()),
      PARLEY_EMBEDDED_SIGNAL_PORT: String(await freePort()),
      PARLEY_EMBEDDED_REGISTRY_PORT: String(await freePort()),
      PARLEY_EMBEDDED_DATA_DIR: mkdtempSync(join(tmpdir(), 'parley-embedded-')),
      PARLEY_EMBEDDED_IDLE_MS: '120000',
    };
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
