/**
 * Issue 8 part 5, the hostile-NAT case: h2 behind a symmetric NAT and no TURN server (STUN only),
 * so Alice (h1) and Carol (h2) can never connect directly (measured in shared/natlab: ICE fails).
 * Real namespaces and iptables, `parley server` with its broker and a one-node mailbox on
 * 198.18.0.1, headless peers.
 *   - store and forward: both online, no path; Alice's attempts run out, her messages go to Carol's
 *     mailbox inbox (`stored`), Carol is nudged and reads them, and her receipt comes back through
 *     Alice's inbox (`delivered`), with no direct channel ever;
 *   - peer relay: Bob on the public network (no NAT) relays for his contacts: Alice and Carol chat
 *     through him (path `relay`), both ways.
 * Skipped with the reason where namespaces can't be made.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { befriend, eventually, HeadlessPeer, messagesWith, tempProfile } from '../../helpers/headless-peer';
import { NatLab, natlabUnavailable, PUBLIC_IP } from '../../helpers/natlab';
import { startServerProcess, type ServerProcess } from '../../helpers/parley-server';

const unavailable = natlabUnavailable();
if (unavailable) console.warn(`NAT store-and-forward tests skipped: ${unavailable}`);

const STUN = `stun:${PUBLIC_IP}:3478`;
const SLOW = 240_000;
type Msg = { id: string; from: string; text: string; status: string };

describe.skipIf(unavailable !== null)('symmetric NAT and no TURN', () => {
  let lab: NatLab;
  let server: ServerProcess;
  const peers: HeadlessPeer[] = [];

  beforeAll(async () => {
    lab = new NatLab('symmetric', { prefix: 'pn' });
    lab.up();
    lab.startTurn(); // for STUN only: no client is given TURN credentials
    server = await startServerProcess(['--host', PUBLIC_IP, '--mqtt', '1883', '--mailbox', '7001', '--log-level', 'warn'], {}, 90_000, ['ip', 'netns', 'exec', lab.ns('pub')]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(peers.splice(0).map((p) => p.quit()));
    await server?.stop();
    lab?.down();
  }, 60_000);

  const start = async (name: string, where: 'h1' | 'h2' | 'pub', extra: string[] = []): Promise<HeadlessPeer> => {
    const p = await HeadlessPeer.start({
      profile: tempProfile(`pn-sf-${name}`), name, broker: String(server.ready.mqtt),
      extraArgs: ['--ice', STUN, '--mailbox', String(server.ready.mailbox), '--mailbox-poll-ms', '3600000', ...extra],
      wrap: ['ip', 'netns', 'exec', lab.ns(where)], readyTimeoutMs: SLOW,
    });
    peers.push(p);
    return p;
  };
  const stopAll = async (): Promise<void> => {
    await Promise.all(peers.splice(0).map((p) => p.quit()));
  };

  it('store and forward: both online, no path; stored in the mailbox, then delivered by the receipt that comes back the same way', async () => {
    expect(server.ready.mailbox).toBe(`${PUBLIC_IP}:7001`);
    const alice = await start('alice', 'h1');
    const carol = await start('carol', 'h2');
    await Promise.all([alice.signalingUp(SLOW), carol.signalingUp(SLOW)]);
    await alice.ok({ op: 'contact.add', userId: carol.userId, name: 'carol' });
    await carol.waitFor((l) => l.event === 'contactRequest' && l.userId === alice.userId, SLOW);
    await carol.ok({ op: 'contact.accept', userId: alice.userId });
    await alice.waitFor((l) => l.event === 'contactAccepted' && l.userId === carol.userId, SLOW);

    const want = Array.from({ length: 5 }, (_, i) => `through the mailbox ${i}`);
    const ids: string[] = [];
    for (const text of want) ids.push(String((await alice.ok({ op: 'send', to: carol.userId, text })).id));
    // Five attempts (15 s each, backoff 1-16 s) fail; then the outbox goes to Carol's inbox.
    for (const id of ids) await alice.waitFor((l) => l.event === 'status' && l.id === id && l.status === 'stored', 400_000);
    const got = await eventually(() => messagesWith(carol, alice.userId), (ms) => ms.length >= want.length, 120_000);
    expect(got.map((m) => m.text)).toEqual(want);
    for (const id of ids) await alice.waitFor((l) => l.event === 'status' && l.id === id && l.status === 'delivered', 120_000);
    expect((await messagesWith(alice, carol.userId)).map((m: Msg) => m.status)).toEqual(want.map(() => 'delivered'));
    // never a direct channel between them
    expect(alice.lines.some((l) => l.event === 'connection' && l.userId === carol.userId && l.state === 'CONNECTED')).toBe(false);
    expect(carol.lines.filter((l) => l.event === 'message' && l.from === alice.userId)).toHaveLength(want.length);
    const cs = (await carol.ok({ op: 'stats' })).mailbox as { nudges: { received: number } };
    expect(cs.nudges.received).toBeGreaterThanOrEqual(1);
    await stopAll();
  }, 600_000);

  it('peer relay: Bob (public, relays for his contacts) carries Alice ↔ Carol both ways', async () => {
    const [alice, bob, carol] = await Promise.all([start('alice2', 'h1'), start('bob', 'pub', ['--relay']), start('carol2', 'h2')]);
    await befriend(alice, bob, SLOW);
    await befriend(carol, bob, SLOW);
    await alice.ok({ op: 'contact.add', userId: carol.userId, name: 'carol' });
    await carol.waitFor((l) => l.event === 'contactRequest' && l.userId === alice.userId, SLOW);
    await carol.ok({ op: 'contact.accept', userId: alice.userId });
    await alice.waitFor((l) => l.event === 'connection' && l.userId === carol.userId && l.state === 'CONNECTED' && l.path === 'relay', 400_000);
    const hello = String((await alice.ok({ op: 'send', to: carol.userId, text: 'via bob' })).id);
    const back = String((await carol.ok({ op: 'send', to: alice.userId, text: 'back via bob' })).id);
    await carol.waitFor((l) => l.event === 'message' && l.id === hello, 120_000);
    await alice.waitFor((l) => l.event === 'message' && l.id === back, 120_000);
    await alice.waitFor((l) => l.event === 'status' && l.id === hello && l.status === 'delivered', 120_000);
    const peersA = (await alice.ok({ op: 'peers' })).peers as { userId: string; state: string; path: string }[];
    expect(peersA.find((p) => p.userId === carol.userId)).toMatchObject({ state: 'CONNECTED', path: 'relay' });
    await stopAll();
  }, 600_000);
});
