import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBroker, type TestBroker } from '../../helpers/brokers';
import { befriend, HeadlessPeer, tempProfile } from '../../helpers/headless-peer';

// Short intervals so the test takes seconds; the defaults are 30 s / 60 s.
const FAST_PRESENCE = ['--heartbeat-ms', '500', '--offline-after-ms', '3000'];

describe.each(['embedded', 'mosquitto'] as const)('presence over %s', (kind) => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await openBroker(kind);
  });
  afterAll(async () => {
    await broker.close();
  });

  it('goes offline after a peer is killed and online again when it returns; chat-open is shown', async () => {
    const profileB = tempProfile('b');
    const start = (profile: string, name: string): Promise<HeadlessPeer> => HeadlessPeer.start({ profile, name, broker: broker.url, extraArgs: FAST_PRESENCE });
    const a = await start(tempProfile('a'), 'a');
    let b = await start(profileB, 'b');
    try {
      await befriend(a, b);
      await a.waitFor((l) => l.event === 'presence' && l.userId === b.userId && l.presence === 'online');

      await b.ok({ op: 'chat.open', userId: a.userId, open: true });
      await a.waitFor((l) => l.event === 'presence' && l.userId === b.userId && l.presence === 'chat-open');

      const mark = a.lines.length;
      await b.kill('SIGKILL');
      await a.waitFor((l) => l.event === 'presence' && l.userId === b.userId && l.presence === 'offline', 20_000, mark);
      const contacts = (await a.ok({ op: 'contacts' })).contacts as { presence: string }[];
      expect(contacts[0]?.presence).toBe('offline');
      expect(a.lines.slice(mark).some((l) => l.event === 'presence' && l.presence === 'offline')).toBe(true);

      const beforeRestart = a.lines.length;
      b = await start(profileB, 'b');
      await a.waitFor((l) => l.event === 'presence' && l.userId === b.userId && l.presence === 'online', 20_000, beforeRestart);
    } finally {
      await Promise.all([a.quit(), b.quit()]);
    }
  });
});
