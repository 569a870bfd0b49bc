/**
 * Finding 12 from the attacker's side: a real contact (its real identity, correctly signed
 * envelopes) claims sentAt 1970 and sentAt 2200. The frames enter a real host exactly where the
 * mesh hands them over (mesh.report), as in datachannel-hostile.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { startHost, type HostApi } from '../../../src/main/host/host';
import { loadOrCreateIdentity } from '../../../src/main/host/keystore';
import { DEFAULT_MAX_SKEW_MS, encodeEnvelope, signEnvelope } from '../../../src/shared/envelope';
import type { Identity } from '../../../src/shared/identity';
import { MOSQUITTO_URL } from '../../helpers/brokers';
import { eventually, tempProfile } from '../../helpers/headless-peer';

const YEAR_2200 = Date.UTC(2200, 0, 1);

describe('message time is bounded on arrival', () => {
  let alice: HostApi;
  let mallory: HostApi;
  let malloryIdentity: Identity;
  let session: string;

  beforeAll(async () => {
    const malloryProfile = tempProfile('sentat-mallory');
    alice = await startHost({ profileDir: tempProfile('sentat-alice'), name: 'alice', brokerUrl: MOSQUITTO_URL });
    mallory = await startHost({ profileDir: malloryProfile, name: 'mallory', brokerUrl: MOSQUITTO_URL });
    malloryIdentity = loadOrCreateIdentity(malloryProfile).identity;
    for (const h of [alice, mallory]) await eventually(() => h.handle('status', {}), (s) => s.signaling === 'connected');
    const asked = new Promise((r) => mallory.on('contactRequest', r));
    await alice.handle('contacts.add', { userId: mallory.userId });
    await asked;
    await mallory.handle('contacts.respond', { userId: alice.userId, accept: true });
    await eventually(() => alice.handle('contacts.list', {}), (cs) => cs[0]?.state === 'accepted');
    ({ session } = await alice.handle('mesh.attach', {}));
    await alice.handle('mesh.report', { kind: 'state', session, userId: mallory.userId, state: 'CONNECTED', attempt: 0 });
  }, 60_000);
  afterAll(async () => {
    await Promise.all([alice?.close(), mallory?.close()]);
  });

  const inject = (text: string, sentAt: number) => alice.handle('mesh.report', {
    kind: 'frame', session, userId: mallory.userId,
    frame: encodeEnvelope(signEnvelope({ type: 'CHAT_MESSAGE', to: alice.userId, body: { text, sentAt } }, malloryIdentity, nodeSigner)),
  });
  const list = () => alice.handle('messages.list', { with: mallory.userId });

  it('neither pins a message above later ones (2200) nor buries it (1970), and counts both', async () => {
    const before = Date.now();
    await inject('pinned to 2200', YEAR_2200);
    await inject('backdated to 1970', 0);
    await eventually(list, (ms) => ms.length === 2);
    await inject('an honest later message', Date.now());
    await eventually(list, (ms) => ms.length === 3);
    const after = Date.now();
    const messages = await list();
    const byText = Object.fromEntries(messages.map((m) => [m.text, m.ts]));
    expect(byText['pinned to 2200']).toBeLessThanOrEqual(after);
    expect(byText['backdated to 1970']).toBeGreaterThanOrEqual(before - DEFAULT_MAX_SKEW_MS);
    // The honest message written after both is not below the one claiming to be from 2200.
    expect(messages.map((m) => m.text).indexOf('an honest later message')).toBeGreaterThan(messages.map((m) => m.text).indexOf('pinned to 2200'));
    const stats = alice.rejectStats();
    expect(stats['sentAt:FUTURE']).toBe(1);
    expect(stats['sentAt:STALE']).toBe(1);
  }, 60_000);

  it('keeps a burst in the sender\'s order when its sentAt runs ahead of the clock (one arrival time for the batch)', async () => {
    // The sender makes sentAt strictly increasing, so a fast burst is ahead of the clock; each is
    // clamped to the arrival time, and must not then be shuffled by the id tie-break.
    const BURST = 300;
    const base = Date.now() + 2_000;
    await Promise.all(Array.from({ length: BURST }, (_, i) => inject(`burst ${i + 1}`, base + i)));
    await eventually(() => alice.handle('messages.list', { with: mallory.userId, limit: 1000 }), (ms) => ms.filter((m) => m.text.startsWith('burst ')).length === BURST, 60_000);
    const burst = (await alice.handle('messages.list', { with: mallory.userId, limit: 1000 })).filter((m) => m.text.startsWith('burst '));
    expect(burst.map((m) => m.text)).toEqual(Array.from({ length: BURST }, (_, i) => `burst ${i + 1}`));
    expect(burst.at(-1)!.ts).toBeLessThanOrEqual(Date.now() + BURST);
  }, 90_000);
});
