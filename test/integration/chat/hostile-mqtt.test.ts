/**
 * Hostile input over raw MQTT: a plain MQTT client publishes to B's signaling topics on Mosquitto
 * (which, unlike the embedded broker, lets anyone publish anywhere). B must reject and count each,
 * show nothing, stay up, and keep chatting.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEnvelope, signEnvelope } from '../../../src/shared/envelope';
import { generateIdentity } from '../../../src/shared/identity';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { MOSQUITTO_URL } from '../../helpers/brokers';
import { befriend, eventually, HeadlessPeer, tempProfile } from '../../helpers/headless-peer';

function publish(client: MqttClient, topic: string, payload: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => client.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
}

describe('hostile signaling input over raw MQTT', () => {
  let a: HeadlessPeer;
  let b: HeadlessPeer;
  let raw: MqttClient;
  const captured: { topic: string; payload: Buffer }[] = [];

  beforeAll(async () => {
    a = await HeadlessPeer.start({ profile: tempProfile('a'), name: 'a', broker: MOSQUITTO_URL });
    b = await HeadlessPeer.start({ profile: tempProfile('b'), name: 'b', broker: MOSQUITTO_URL });
    raw = await mqtt.connectAsync(MOSQUITTO_URL, { clientId: `hostile-${process.pid}-${Date.now()}` });
    await raw.subscribeAsync(`user/${b.userId}/#`, { qos: 1 });
    raw.on('message', (topic, payload) => captured.push({ topic, payload: Buffer.from(payload) }));
    await befriend(a, b);
  });
  afterAll(async () => {
    await raw?.endAsync();
    await Promise.all([a?.quit(), b?.quit()]);
  });

  const stats = async (): Promise<Record<string, number>> => (await b.ok({ op: 'stats' })).rejected as Record<string, number>;

  it('rejects forged, misaddressed, replayed, malformed, oversized and unknown input, then still chats', async () => {
    const attacker = generateIdentity();
    const topic = (type: string): string => `user/${b.userId}/${type}`;
    const before = await stats();
    const linesBefore = b.lines.length;

    // Forged: claims to be A, signed by the attacker.
    const forged = signEnvelope({ type: 'offer', to: b.userId, body: { sealed: 'AAAA' } }, attacker, nodeSigner);
    await publish(raw, topic('offer'), encodeEnvelope({ ...forged, from: a.userId }));
    // Wrong recipient: a valid envelope for someone else, dropped on B's topic.
    const misaddressed = signEnvelope({ type: 'offer', to: generateIdentity().userId, body: { sealed: 'AAAA' } }, attacker, nodeSigner);
    await publish(raw, topic('offer'), encodeEnvelope(misaddressed));
    // Replay: an envelope A really sent to B, captured off the broker and published again.
    // (Any envelope A signed for B: since candidates ride in the offer and answer there may be no
    // separate iceCandidate, and a heartbeat may not have come yet.)
    const fromA = (c: { payload: Buffer }): boolean => {
      try {
        return (JSON.parse(c.payload.toString()) as { from?: unknown }).from === a.userId;
      } catch {
        return false;
      }
    };
    const real = captured.find(fromA);
    expect(real, 'captured a genuine envelope from A to B').toBeDefined();
    await publish(raw, real!.topic, real!.payload);
    // Malformed JSON, a 10 MB payload and an unknown type.
    await publish(raw, topic('offer'), '{"v":1,"type":');
    await publish(raw, topic('answer'), Buffer.alloc(10 * 1024 * 1024, 0x41));
    const unknown = signEnvelope({ type: 'launchMissiles', to: b.userId, body: {} }, attacker, nodeSigner);
    await publish(raw, topic('launchMissiles'), encodeEnvelope(unknown));

    const after = await eventually(stats, (s) => (s['signaling:UNKNOWN_TYPE'] ?? 0) > (before['signaling:UNKNOWN_TYPE'] ?? 0) && (s['signaling:OVERSIZE'] ?? 0) > (before['signaling:OVERSIZE'] ?? 0), 30_000);
    for (const code of ['BAD_SIGNATURE', 'WRONG_RECIPIENT', 'REPLAY', 'BAD_JSON', 'OVERSIZE', 'UNKNOWN_TYPE']) {
      expect(after[`signaling:${code}`] ?? 0, code).toBeGreaterThan(before[`signaling:${code}`] ?? 0);
    }
    // Nothing reached B's user-facing events.
    const shown = b.lines.slice(linesBefore).filter((l) => l.event === 'message' || l.event === 'contactRequest');
    expect(shown).toEqual([]);

    // B is alive and the chat still works both ways.
    const sent = await a.ok({ op: 'send', to: b.userId, text: 'still here?' });
    await b.waitFor((l) => l.event === 'message' && l.id === sent.id);
    await a.waitFor((l) => l.event === 'status' && l.id === sent.id && l.status === 'delivered');
  });
});
