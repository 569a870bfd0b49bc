// Hostile deposits against a real coordinator process. Mallory is a contact of Bob (a valid
// account he accepted) and runs a real host whose mesh (@roamhq/wrtc) we hold, so she can sign
// any STORE_MESSAGE she likes; Bob is a `parley peer --coordinator` process. Each attack must be
// refused and counted, and nothing lost or shown: Alice's deposits still reach Carol, chat works.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { DEFAULT_HOLDER_LIMITS } from '../../../src/main/host/coordinator';
import { startHost, type HostApi } from '../../../src/main/host/host';
import { loadOrCreateIdentity } from '../../../src/main/host/keystore';
import { nodeMeshFactory } from '../../../src/main/host/node-mesh';
import { sealChat } from '../../../src/main/host/sealed-chat';
import type { Mesh } from '../../../src/renderer/mesh';
import { encodeEnvelope, signEnvelope } from '../../../src/shared/envelope';
import { generateIdentity, type Identity } from '../../../src/shared/identity';
import { randomId } from '../../../src/shared/ids';
import { openBroker, type TestBroker } from '../../helpers/brokers';
import { befriend, eventually, messagesWith, tempProfile, waitConnected, type HeadlessPeer } from '../../helpers/headless-peer';
import { allWithStatus, coordStats, Peers, rejected, texts, type Msg } from './support';

describe('hostile deposits at a coordinator', () => {
  let broker: TestBroker;
  const peers = new Peers(() => broker.url);
  let mallory: HostApi;
  let malloryId: Identity;
  let mesh: Mesh;
  let alice: HeadlessPeer;
  let bob: HeadlessPeer;
  let carol: HeadlessPeer;
  const profileC = tempProfile('carol');

  beforeAll(async () => {
    broker = await openBroker('embedded');
    alice = await peers.start(tempProfile('alice'), 'alice');
    bob = await peers.start(tempProfile('bob'), 'bob', ['--coordinator']);
    carol = await peers.start(profileC, 'carol');
    await befriend(alice, bob);
    await befriend(bob, carol);
    await befriend(alice, carol);
    const profileM = tempProfile('mallory');
    mallory = await startHost({
      profileDir: profileM, name: 'mallory', brokerUrl: broker.url, mailbox: 'none',
      meshFactory: (s, self, ice) => (mesh = nodeMeshFactory(s, self, ice) as Mesh),
    });
    malloryId = loadOrCreateIdentity(profileM).identity;
    await bob.signalingUp();
    await eventually(() => mallory.handle('status', {}), (s) => s.signaling === 'connected');
    await mallory.handle('contacts.add', { userId: bob.userId });
    await bob.waitFor((l) => l.event === 'contactRequest' && l.userId === mallory.userId);
    await bob.ok({ op: 'contact.accept', userId: mallory.userId });
    await waitConnected(bob, mallory.userId);
    await eventually(async () => mesh.state(bob.userId), (s) => s === 'CONNECTED');
  }, 180_000);
  afterAll(async () => {
    await peers.stopAll();
    await mallory?.close();
    await broker?.close();
  });

  const send = (type: string, body: unknown, tamper?: (env: Record<string, unknown>) => void): void => {
    const env = signEnvelope({ type, to: bob.userId, body }, malloryId, nodeSigner) as unknown as Record<string, unknown>;
    tamper?.(env);
    if (!mesh.send(bob.userId, encodeEnvelope(env as never))) throw new Error('channel to Bob closed');
  };
  const deposit = (over: Record<string, unknown> = {}, tamper?: (env: Record<string, unknown>) => void): string => {
    const msgId = randomId();
    const sealed = sealChat(carol.userId, msgId, { text: 'buy my stuff', sentAt: Date.now() }, malloryId, nodeSigner);
    send('STORE_MESSAGE', { sender: malloryId.userId, recipient: carol.userId, msgId, sealed, expiresAt: Date.now() + 3600_000, ...over }, tamper);
    return msgId;
  };

  it('forged, misaddressed, oversize and flooding deposits are refused and counted; Alice\'s messages still arrive once and chat works', async () => {
    await peers.stop(carol);
    const cap = DEFAULT_HOLDER_LIMITS.perDepositor.count;
    const base = await rejected(bob);
    const baseStats = await coordStats(bob);
    const delta = async (key: string): Promise<number> => ((await rejected(bob))[key] ?? 0) - (base[key] ?? 0);

    // a forged STORE_MESSAGE: the signature no longer covers the body
    deposit({}, (env) => { (env.body as Record<string, unknown>).msgId = randomId(); });
    // signed by Mallory, but naming Alice as its author
    deposit({ sender: alice.userId });
    // for someone who is not Bob's contact
    const stranger = generateIdentity();
    deposit({ recipient: stranger.userId, sealed: sealChat(stranger.userId, randomId(), { text: 'x' }, malloryId, nodeSigner) });
    // a sealed body over the coordinator's limit (still inside the frame and schema limits)
    deposit({ sealed: 'A'.repeat(DEFAULT_HOLDER_LIMITS.maxSealedChars + 4096) });
    await eventually(async () => [await delta('datachannel:BAD_SIGNATURE'), await delta('coordinator:BAD_SIGNATURE'), await delta('coordinator:UNAUTHORIZED'), await delta('coordinator:OVERSIZE')],
      (v) => v.every((n) => n === 1), 60_000);
    expect((await coordStats(bob)).held).toBe(baseStats.held);

    // a flood over the per-depositor cap: exactly the cap is held, the rest refused
    for (let i = 0; i < cap + 20; i++) {
      deposit();
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20));
    }
    await eventually(() => delta('coordinator:FULL'), (n) => n === 20, 120_000);
    expect((await coordStats(bob)).held).toBe(baseStats.held + cap);

    // Alice's deposits are not crowded out by Mallory's: the cap is per depositor
    const want = texts(5, 'from alice');
    for (const text of want) await alice.ok({ op: 'send', to: carol.userId, text });
    const alices = await allWithStatus(alice, carol.userId, 5, 'stored');
    expect((await coordStats(bob)).held).toBe(baseStats.held + cap + 5);
    // Mallory tries to make Carol lose them: a STORE_ACK deletes only the acker's own copies
    send('STORE_ACK', { msgIds: alices.map((m) => m.id) });
    await eventually(() => delta('coordinator:UNAUTHORIZED'), (n) => n === 2, 60_000);
    expect((await coordStats(bob)).held).toBe(baseStats.held + cap + 5);

    // Carol connects: she gets Alice's 5 once; Mallory's copies are refused (not her contact) and dropped
    carol = await peers.start(profileC, 'carol');
    await waitConnected(carol, bob.userId, 90_000);
    const got = await eventually(async () => (await messagesWith(carol, alice.userId)) as Msg[], (ms) => ms.length >= 5, 90_000);
    expect(got.map((m) => m.text)).toEqual(want);
    await eventually(() => coordStats(bob), (s) => s.held === 0, 120_000);
    const carolRejected = await rejected(carol);
    // each of Mallory's copies refused at least once (a copy still unacknowledged after 30 s is forwarded again)
    expect(carolRejected['coordinator:UNAUTHORIZED']).toBeGreaterThanOrEqual(cap);
    expect(carol.lines.filter((l) => l.event === 'message' && l.from === malloryId.userId)).toEqual([]);
    expect(await messagesWith(carol, malloryId.userId)).toEqual([]);

    // chat still works, both ways, and Bob is still the same process
    await bob.ok({ op: 'send', to: carol.userId, text: 'still here' });
    await carol.waitFor((l) => l.event === 'message' && l.text === 'still here', 60_000);
    await carol.ok({ op: 'send', to: bob.userId, text: 'me too' });
    await bob.waitFor((l) => l.event === 'message' && l.text === 'me too', 60_000);
  }, 400_000);
});
