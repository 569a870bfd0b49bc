// A hostile relay, on real WebRTC: H (a host in this process, so the test can act as it) relays
// between two real `parley peer` processes that can't connect directly. It sees only sealed
// frames; what it plays back, makes up, alters or reflects is refused by C and counted under
// `relay:`, and nothing of it is shown. Requests a relay forwards for a stranger, and requests to
// a device whose relaying is off, are refused and counted too.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { sealTo } from '../../../src/shared/box';
import { utf8 } from '../../../src/shared/encoding';
import { encodeEnvelope, signEnvelope, type Envelope } from '../../../src/shared/envelope';
import { generateIdentity } from '../../../src/shared/identity';
import { randomId } from '../../../src/shared/ids';
import { openBroker, type TestBroker } from '../../helpers/brokers';
import { eventually, HeadlessPeer, messagesWith, tempProfile } from '../../helpers/headless-peer';
import { befriendInProc, startInProc, type InProcPeer } from './inproc';
import { statsOf, viaRelay } from './support';

describe('hostile relay and relay requests', () => {
  let broker: TestBroker;
  let h: InProcPeer;
  let a: HeadlessPeer;
  let c: HeadlessPeer;

  beforeAll(async () => {
    broker = await openBroker('embedded');
    const dir = tempProfile('relay-hostile');
    const blockA = join(dir, 'a.block');
    const blockC = join(dir, 'c.block');
    writeFileSync(blockA, '');
    writeFileSync(blockC, '');
    [a, c] = await Promise.all([
      HeadlessPeer.start({ readyTimeoutMs: 180_000, profile: tempProfile('hostile-a'), name: 'alice', broker: broker.url, extraArgs: ['--mailbox', 'none'], env: { PARLEY_TEST_ICE_BLOCK_FILE: blockA } }),
      HeadlessPeer.start({ readyTimeoutMs: 180_000, profile: tempProfile('hostile-c'), name: 'carol', broker: broker.url, extraArgs: ['--mailbox', 'none'], env: { PARLEY_TEST_ICE_BLOCK_FILE: blockC } }),
    ]);
    writeFileSync(blockA, `${c.userId}\n`);
    writeFileSync(blockC, `${a.userId}\n`);
    h = await startInProc({ broker: broker.url, allowRelay: true });
    await befriendInProc(h, a);
    await befriendInProc(h, c);
    await a.ok({ op: 'contact.add', userId: c.userId, name: 'carol' });
    await c.waitFor((l) => l.event === 'contactRequest' && l.userId === a.userId, 180_000);
    await c.ok({ op: 'contact.accept', userId: a.userId }, 180_000);
    await Promise.all([viaRelay(a, c.userId), viaRelay(c, a.userId)]);
  }, 300_000);
  afterAll(async () => {
    await Promise.all([a?.quit(), c?.quit()]);
    await h?.host.close();
    await broker?.close();
  });

  const relayed = (code: string) => async () => (await statsOf(c)).rejected[`relay:${code}`] ?? 0;
  const fromA = async () => (await messagesWith(c, a.userId)).filter((m) => m.from === a.userId).map((m) => m.text);
  const fromH = async () => (await messagesWith(c, h.host.userId)).length;

  it('refuses a replayed, a forged, an altered and a reflected relay frame; shows nothing of them', async () => {
    expect((await a.ok({ op: 'route', userId: c.userId })).trace).toMatchObject({ path: 'relay', relayVia: h.host.userId });
    const { id } = await a.ok({ op: 'send', to: c.userId, text: 'hello through a relay' });
    await eventually(() => messagesWith(a, c.userId), (ms) => ms.find((m) => m.id === id)?.status === 'delivered', 120_000);
    expect(await fromA()).toEqual(['hello through a relay']);

    // What H carried: sealed frames only; it can't find the text in them.
    const carried = h.frames
      .filter((f) => f.from === a.userId)
      .map((f) => JSON.parse(f.frame) as Envelope<{ target?: string; frame?: string }>)
      .filter((e) => e.type === 'RELAY' && e.body.target === c.userId);
    expect(carried.length).toBeGreaterThan(0);
    for (const e of carried) expect(JSON.stringify(e)).not.toContain('hello through a relay');
    const sealed = carried[0]!.body.frame!;

    // 1. Played back: the same sealed frame again, in a fresh envelope of H's.
    h.sendEnvelope(c.userId, 'RELAY', { target: c.userId, source: a.userId, frame: sealed });
    await eventually(relayed('REPLAY'), (n) => n >= 1);

    // 2. Made up: a message "from A" that H wrote and sealed itself.
    const fake = signEnvelope({ type: 'CHAT_MESSAGE', to: c.userId, body: { text: 'forged by the relay', sentAt: Date.now() } }, h.identity, nodeSigner);
    h.sendEnvelope(c.userId, 'RELAY', { target: c.userId, source: a.userId, frame: sealTo(c.userId, utf8(encodeEnvelope(fake)), h.identity) });
    await eventually(relayed('DECRYPT_FAILED'), (n) => n >= 1);

    // 3. Altered: one character of A's sealed frame changed.
    const i = Math.floor(sealed.length / 2);
    const altered = sealed.slice(0, i) + (sealed[i] === 'A' ? 'B' : 'A') + sealed.slice(i + 1);
    h.sendEnvelope(c.userId, 'RELAY', { target: c.userId, source: a.userId, frame: altered });
    await eventually(relayed('DECRYPT_FAILED'), (n) => n >= 2);

    // 4. Reflected: a frame C sealed for A (the pair's box key opens both ways) sent back to C as A's.
    const fromC = h.frames
      .filter((f) => f.from === c.userId)
      .map((f) => JSON.parse(f.frame) as Envelope<{ target?: string; frame?: string }>)
      .find((e) => e.type === 'RELAY' && e.body.target === a.userId);
    expect(fromC).toBeDefined();
    h.sendEnvelope(c.userId, 'RELAY', { target: c.userId, source: a.userId, frame: fromC!.body.frame! });
    await eventually(relayed('WRONG_RECIPIENT'), (n) => n >= 1);

    // 5. A frame "of" someone C doesn't know.
    const stranger = generateIdentity();
    h.sendEnvelope(c.userId, 'RELAY', { target: c.userId, source: stranger.userId, frame: sealTo(c.userId, utf8('x'), stranger) });
    await eventually(relayed('UNAUTHORIZED'), (n) => n >= 1);

    // Nothing of it was shown; the real message still once.
    const shown = c.lines.filter((l) => l.event === 'message');
    expect(shown.map((l) => l.text)).toEqual(['hello through a relay']);
    expect(await fromA()).toEqual(['hello through a relay']);
    expect(await fromH()).toBe(0);
  }, 300_000);

  it('refuses a relay request for a stranger and a request to a device that does not relay, and answers both with a reason', async () => {
    const before = (await statsOf(c)).rejected['relay:UNAUTHORIZED'] ?? 0;
    const stranger = generateIdentity();
    const forStranger = randomId();
    h.sendEnvelope(c.userId, 'RELAY_REQUEST', { target: c.userId, source: stranger.userId, requestId: forStranger });
    const asRelay = randomId();
    h.sendEnvelope(c.userId, 'RELAY_REQUEST', { target: a.userId, requestId: asRelay });
    await eventually(relayed('UNAUTHORIZED'), (n) => n >= before + 2);
    const answers = await eventually(
      async () => h.frames
        .filter((f) => f.from === c.userId)
        .map((f) => JSON.parse(f.frame) as Envelope<{ requestId?: string; accept?: boolean; reason?: string }>)
        .filter((e) => e.type === 'RELAY_RESPONSE' && (e.body.requestId === forStranger || e.body.requestId === asRelay)),
      (list) => list.length === 2,
    );
    for (const e of answers) expect(e.body.accept).toBe(false);
    expect(answers.find((e) => e.body.requestId === asRelay)?.body.reason).toMatch(/relaying is off/);
    // C carries no pair for anyone, and A still reaches C through H.
    expect((await statsOf(c)).relay.server.pairs).toBe(0);
    const { id } = await a.ok({ op: 'send', to: c.userId, text: 'still fine' });
    await eventually(() => messagesWith(a, c.userId), (ms) => ms.find((m) => m.id === id)?.status === 'delivered', 120_000);
  }, 300_000);
});
