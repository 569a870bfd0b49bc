// Declining someone already accepted ends the contact: the open data channel closes, the other
// side's reconnection attempts are refused (counted), and the decline is what the user sees.
import { afterAll, describe, expect, it } from 'vitest';
import { MOSQUITTO_URL } from '../../helpers/brokers';
import { befriend, HeadlessPeer, tempProfile, type Line } from '../../helpers/headless-peer';

describe('declining an accepted contact', () => {
  const peers: HeadlessPeer[] = [];
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.quit()));
  });

  it('closes the channel and keeps it closed', async () => {
    const [a, b] = await Promise.all([
      HeadlessPeer.start({ profile: tempProfile('decline-a'), name: 'alice', broker: MOSQUITTO_URL }),
      HeadlessPeer.start({ profile: tempProfile('decline-b'), name: 'bob', broker: MOSQUITTO_URL }),
    ]);
    peers.push(a, b);
    await befriend(a, b);
    const since = a.lines.length;
    await b.ok({ op: 'contact.decline', userId: a.userId });

    const toB = (l: Line): boolean => l.event === 'connection' && l.userId === b.userId;
    await a.waitFor((l) => toB(l) && l.state !== 'CONNECTED', 60_000, since);
    const closed = since + a.lines.slice(since).findIndex((l) => toB(l) && l.state !== 'CONNECTED');
    // Alice still counts Bob as a contact and retries; a full retry must fail, not reconnect.
    await a.waitFor((l) => toB(l) && l.state === 'RECONNECTING' && Number(l.attempt) >= 2, 120_000, closed);
    expect(a.lines.slice(closed).filter((l) => toB(l) && l.state === 'CONNECTED')).toEqual([]);
    const peersOfB = (await b.ok({ op: 'peers' })).peers as { userId: string; state: string }[];
    expect(peersOfB.filter((p) => p.userId === a.userId && p.state === 'CONNECTED')).toEqual([]);
    const contactsOfB = (await b.ok({ op: 'contacts' })).contacts as { userId: string; state: string }[];
    expect(contactsOfB.find((c) => c.userId === a.userId)?.state).toBe('declined');
    const rejected = (await b.ok({ op: 'stats' })).rejected as Record<string, number>;
    expect(rejected['signaling:UNAUTHORIZED'] ?? 0, "alice's reconnection offers were refused").toBeGreaterThan(0);
  }, 240_000);
});
