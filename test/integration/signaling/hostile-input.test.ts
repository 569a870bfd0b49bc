/**
 * Hostile input published with a plain MQTT client onto B's topics, on both brokers. On Mosquitto
 * (anonymous, no ACL) everything reaches B's client, which must reject and count each one; on the
 * embedded broker the attacker has to log in with its own key and some inputs are already refused by
 * the broker. Either way: nothing is emitted as a message, nothing crashes, and signaling still works.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { sealTo } from '../../../src/shared/box';
import { canonicalJson, utf8 } from '../../../src/shared/encoding';
import { encodeEnvelope, signEnvelope, type Envelope } from '../../../src/shared/envelope';
import type { RejectCode } from '../../../src/shared/errors';
import { generateIdentity, type Identity } from '../../../src/shared/identity';
import { BROKER_KINDS, eventually, forgetOnBroker, openTarget, rawClient, sleep, startClient, type Target, type TestClient } from './helpers';

describe.each(BROKER_KINDS)('hostile signaling input over %s', (kind) => {
  let target: Target;
  let a: TestClient;
  let b: TestClient;
  const attacker: Identity = generateIdentity();
  const captured: Array<{ topic: string; payload: Buffer }> = [];
  let observer: MqttClient | undefined;

  beforeAll(async () => {
    target = await openTarget(kind);
    a = await startClient(target.url);
    b = await startClient(target.url);
    a.sig.watchPresence([b.identity.userId]);
    b.sig.watchPresence([a.identity.userId]);
    if (kind === 'mosquitto') {
      observer = await rawClient(target.url);
      await observer.subscribeAsync([`user/${b.identity.userId}/#`, `presence/${a.identity.userId}`], { qos: 1 });
      observer.on('message', (topic, payload) => captured.push({ topic, payload: Buffer.from(payload) }));
    } else {
      target.broker!.aedes.on('publish', (packet) => {
        if (packet.topic.startsWith('user/') || packet.topic.startsWith('presence/')) {
          captured.push({ topic: packet.topic, payload: Buffer.from(packet.payload) });
        }
      });
    }
  });
  afterAll(async () => {
    await observer?.endAsync();
    await Promise.all([a?.sig.stop(), b?.sig.stop()]);
    if (kind === 'mosquitto') await forgetOnBroker(target.url, [a, b]);
    await target.close();
  });

  /** Publishes with a fresh raw client; resolves 'accepted' on PUBACK or 'refused' if the broker drops us. */
  async function inject(topic: string, payload: string | Buffer, retain = false): Promise<'accepted' | 'refused'> {
    const raw = await rawClient(target.url, kind === 'embedded' ? attacker : undefined);
    try {
      return await new Promise((resolve) => {
        raw.once('close', () => resolve('refused'));
        raw.publish(topic, payload, { qos: 1, retain }, (error) => resolve(error ? 'refused' : 'accepted'));
      });
    } finally {
      raw.end(true);
    }
  }

  const inbox = (type: string) => `user/${b.identity.userId}/${type}`;
  const sealedFor = (to: string, body: unknown) => ({ sealed: sealTo(to, utf8(canonicalJson(body)), attacker) });
  const envelope = (draft: Partial<Envelope> & { type: string; to: string; body: unknown }, signer: Identity = attacker) =>
    encodeEnvelope(signEnvelope(draft, signer, nodeSigner));

  it('rejects and counts forged, misaddressed, replayed, malformed, oversized and unknown input, and keeps working', async () => {
    const bUser = b.identity.userId;
    const aUser = a.identity.userId;
    // A genuine envelope from A to B, captured on the wire, to replay later.
    a.sig.send(bUser, 'offer', { sdp: 'genuine offer' });
    await eventually(() => b.messages.filter((m) => m.type === 'offer').length, (n) => n === 1, 20_000, 'the genuine offer');
    const genuine = (await eventually(() => captured.find((c) => c.topic === inbox('offer')), (c) => c !== undefined, 10_000, 'capture'))!;
    // B must already hold A's current broadcast status (the precondition of the 'old presence' case).
    await eventually(() => b.messages.some((m) => m.channel === 'presenceTopic' && m.from === aUser), (seen) => seen, 20_000, 'B to accept A\'s status');
    const messagesBefore = b.messages.length;
    const expected: RejectCode[] = [];
    const brokerRefusals: string[] = [];

    async function attack(what: string, topic: string, payload: string | Buffer, clientCode: RejectCode, retain = false) {
      const outcome = await inject(topic, payload, retain);
      if (outcome === 'accepted') expected.push(clientCode);
      else brokerRefusals.push(what);
    }

    // 1. forged: claims to come from A, signed by the attacker
    const forged = signEnvelope({ type: 'offer', to: bUser, body: sealedFor(bUser, { sdp: 'x' }) }, attacker, nodeSigner);
    await attack('forged', inbox('offer'), encodeEnvelope({ ...forged, from: aUser }), 'BAD_SIGNATURE');
    // 2. wrong recipient: validly signed, addressed to someone else, dropped on B's topic
    const carol = generateIdentity().userId;
    await attack('wrong recipient', inbox('offer'), envelope({ type: 'offer', to: carol, body: sealedFor(carol, { sdp: 'x' }) }), 'WRONG_RECIPIENT');
    // 3. replay of A's captured envelope
    await attack('replay', genuine.topic, genuine.payload, 'REPLAY');
    // 4. malformed JSON
    await attack('malformed', inbox('answer'), '{"v":1,"type":"answer",', 'BAD_JSON');
    // 5. unknown type, in the topic and (on a valid topic) in the envelope
    await attack('unknown topic type', inbox('launchMissiles'), envelope({ type: 'launchMissiles', to: bUser, body: {} }), 'UNKNOWN_TYPE');
    await attack('type mismatch', inbox('offer'), envelope({ type: 'launchMissiles', to: bUser, body: sealedFor(bUser, {}) }), 'SCHEMA');
    // 6. a sealed body B cannot open, and one that opens but fails the schema
    await attack('undecryptable', inbox('offer'), envelope({ type: 'offer', to: bUser, body: sealedFor(carol, { sdp: 'x' }) }), 'DECRYPT_FAILED');
    await attack('bad body', inbox('offer'), envelope({ type: 'offer', to: bUser, body: sealedFor(bUser, { sdp: 42, evil: true }) }), 'SCHEMA');
    // 7. stale and future timestamps
    await attack('stale', inbox('offer'), envelope({ type: 'offer', to: bUser, ts: Date.now() - 10 * 60_000, body: sealedFor(bUser, { sdp: 'x' }) }), 'STALE');
    await attack('future', inbox('offer'), envelope({ type: 'offer', to: bUser, ts: Date.now() + 10 * 60_000, body: sealedFor(bUser, { sdp: 'x' }) }), 'FUTURE');
    // 8. A's presence topic: a status signed by the attacker, and a replay of A's own older status
    await attack('foreign presence', `presence/${aUser}`, envelope({ type: 'presence', to: aUser, body: { status: 'offline' } }), 'UNAUTHORIZED');
    const aStatus = captured.find((c) => c.topic === `presence/${aUser}`);
    if (kind === 'mosquitto') {
      expect(aStatus, 'captured A\'s retained online status').toBeDefined();
      // B has accepted A's current status; the same bytes again are a harmless duplicate, but an
      // older one (re-signed by A before this session) must be refused:
      const older = envelope({ type: 'presence', to: aUser, ts: Date.now() - 60 * 60_000, body: { status: 'offline' } }, a.identity);
      await attack('old presence', `presence/${aUser}`, older, 'REPLAY');
    }
    // 9. 10 MB: the embedded broker refuses it; on Mosquitto B must drop it before parsing
    await attack('10 MB', inbox('offer'), Buffer.alloc(10 * 1024 * 1024, 0x7b), 'OVERSIZE');

    await eventually(() => b.rejected.length, (n) => n >= expected.length, 30_000, `B to reject ${expected.length} inputs`);
    await sleep(300); // anything else would show up now
    const diagnostics = JSON.stringify({ rejected: b.rejected.map((r) => `${r.code}: ${r.reason}`), emitted: b.messages.slice(messagesBefore), brokerRefusals });
    expect(b.rejected.map((r) => r.code).sort(), diagnostics).toEqual([...expected].sort());
    for (const code of new Set(expected)) {
      expect(b.sig.stats().rejected[`mqtt:${code}`], code).toBe(expected.filter((c) => c === code).length);
    }
    expect(b.messages.length, `nothing hostile was emitted: ${diagnostics}`).toBe(messagesBefore);
    if (kind === 'mosquitto') {
      expect(brokerRefusals).toEqual([]);
      expect(expected).toEqual(expect.arrayContaining(['BAD_SIGNATURE', 'WRONG_RECIPIENT', 'REPLAY', 'BAD_JSON', 'OVERSIZE', 'UNKNOWN_TYPE']));
    } else {
      // The embedded broker's ACL stops these before they reach anyone, and counts them.
      expect(brokerRefusals.sort()).toEqual(['10 MB', 'foreign presence', 'unknown topic type']);
      expect(target.broker!.stats().refused.publish).toBeGreaterThanOrEqual(3);
      expect(expected).toEqual(expect.arrayContaining(['BAD_SIGNATURE', 'WRONG_RECIPIENT', 'REPLAY', 'BAD_JSON']));
    }

    // Still alive and still working, both ways.
    expect(b.sig.connectionState).toBe('connected');
    a.sig.send(bUser, 'answer', { sdp: 'after the storm' });
    b.sig.send(aUser, 'answer', { sdp: 'still here' });
    await eventually(() => b.messages.filter((m) => m.type === 'answer').length, (n) => n === 1, 20_000, 'B to get the answer');
    await eventually(() => a.messages.filter((m) => m.type === 'answer').length, (n) => n === 1, 20_000, 'A to get the answer');
  });
});
