/**
 * Property tests at the two trust boundaries of signaling: the broker's login/ACL checks never throw
 * and never admit a malformed login; the client rejects every mutation of a genuine envelope (each
 * exactly once) and never emits one as a message.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { makeLoginPassword, mqttClientId, verifyLogin } from '../../../src/main/signaling/mqtt-login';
import { PassThrough } from 'node:stream';
import { checkPublish, checkSubscribe } from '../../../src/server/broker/acl';
import { guardPacketSize } from '../../../src/server/broker/packet-size-guard';
import { generateIdentity, newDeviceId } from '../../../src/shared/identity';
import { eventually, forgetOnBroker, MOSQUITTO_URL, rawClient, sleep, startClient, type TestClient } from './helpers';

describe('broker login and ACL checks', () => {
  const me = generateIdentity();
  const clientId = mqttClientId(me.userId, newDeviceId());

  it('verifyLogin never throws and admits only the genuine, fresh password', () => {
    const now = Date.now();
    const genuine = makeLoginPassword(me, clientId, nodeSigner, now);
    expect(verifyLogin(me.userId, clientId, Buffer.from(genuine), nodeSigner, now)).toEqual({ ok: true, ts: now });
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.constant(me.userId), fc.constant(undefined)),
        fc.oneof(fc.string(), fc.constant(clientId)),
        fc.oneof(
          fc.string(),
          fc.json().map((j) => j),
          fc.record({ ts: fc.oneof(fc.integer(), fc.double(), fc.string()), sig: fc.oneof(fc.string(), fc.base64String()) }).map((o) => JSON.stringify(o)),
          fc.uint8Array({ maxLength: 600 }),
          fc.constant(undefined),
        ),
        (username, id, password) => {
          const verdict = verifyLogin(username, id, typeof password === 'string' ? Buffer.from(password) : password, nodeSigner, now);
          const isGenuine = username === me.userId && id === clientId && typeof password === 'string' && password === genuine;
          expect(verdict.ok).toBe(isGenuine);
          if (!verdict.ok) expect(verdict.reason.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('ACL checks never throw, and only admit the documented topics', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.nat(200_000), fc.boolean(), (topic, bytes, retain) => {
        const sub = checkSubscribe(me.userId, topic);
        const pub = checkPublish(me.userId, topic, bytes, retain);
        if (sub.ok) expect(topic === `presence/${topic.slice(9)}` || topic.startsWith(`user/${me.userId}`)).toBe(true);
        if (pub.ok) expect(bytes).toBeLessThanOrEqual(64 * 1024);
      }),
      { numRuns: 5000 },
    );
  });
});

/** MQTT fixed header: type byte, then the remaining length as a base-128 varint. */
function packet(bodyLength: number): Buffer {
  const header = [0x32];
  let n = bodyLength;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    header.push(byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from(header), Buffer.alloc(bodyLength, 0xaa)]);
}

describe('broker packet-size guard', () => {
  it('trips exactly on the first packet declaring more than the limit, however the bytes are chunked', () => {
    const LIMIT = 1000;
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 40 }),
        (lengths, cuts) => {
          const bytes = Buffer.concat(lengths.map(packet));
          const stream = new PassThrough();
          const tripped: number[] = [];
          guardPacketSize(stream, LIMIT, (declared) => tripped.push(declared));
          let offset = 0;
          for (let i = 0; offset < bytes.length; i++) {
            const size = cuts[i % cuts.length]!;
            stream.write(bytes.subarray(offset, offset + size));
            offset += size;
          }
          stream.end();
          stream.resume();
          const firstOver = lengths.find((l) => l > LIMIT);
          expect(tripped).toEqual(firstOver === undefined ? [] : [firstOver]);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('client-side rejection of mutated envelopes (raw MQTT on Mosquitto)', () => {
  let a: TestClient;
  let b: TestClient;

  beforeAll(async () => {
    a = await startClient(MOSQUITTO_URL);
    b = await startClient(MOSQUITTO_URL);
  });
  afterAll(async () => {
    await Promise.all([a?.sig.stop(), b?.sig.stop()]);
    await forgetOnBroker(MOSQUITTO_URL, [a, b]);
  });

  it('rejects each of 300 mutations exactly once and emits none of them', async () => {
    // The genuine envelope is delivered first, so even a "mutation" that leaves it intact is a replay.
    const captured: Buffer[] = [];
    const spy = await rawClient(MOSQUITTO_URL);
    await spy.subscribeAsync(`user/${b.identity.userId}/offer`, { qos: 1 });
    spy.on('message', (_topic, payload) => captured.push(Buffer.from(payload)));
    a.sig.send(b.identity.userId, 'offer', { sdp: 'the original' });
    await eventually(() => b.messages.length + captured.length, (n) => n >= 2, 20_000, 'the original offer');
    await spy.endAsync();
    const original = JSON.parse(captured[0]!.toString()) as Record<string, unknown>;
    const messagesBefore = b.messages.length;

    const fields = ['v', 'type', 'id', 'from', 'to', 'ts', 'body', 'sig'];
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), field: fc.constantFrom(...fields), value: fc.jsonValue() }),
      fc.record({ kind: fc.constant('delete' as const), field: fc.constantFrom(...fields) }),
      fc.record({ kind: fc.constant('extra' as const), field: fc.string({ minLength: 1, maxLength: 8 }), value: fc.jsonValue() }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 300 }) }),
    );
    const text = captured[0]!;
    const payloads = fc.sample(mutation, { numRuns: 300, seed: 42 }).map((m): Buffer => {
      switch (m.kind) {
        case 'set':
          return Buffer.from(JSON.stringify({ ...original, [m.field]: m.value }));
        case 'delete': {
          const copy: Record<string, unknown> = { ...original };
          delete copy[m.field];
          return Buffer.from(JSON.stringify(copy));
        }
        case 'extra':
          return Buffer.from(JSON.stringify({ ...original, [m.field]: m.value }));
        case 'truncate':
          return text.subarray(0, m.at % text.length);
        case 'flip': {
          const copy = Buffer.from(text);
          const i = m.at % copy.length;
          copy[i] = copy[i]! ^ (1 << m.bit);
          return copy;
        }
        case 'bytes':
          return Buffer.from(m.bytes);
      }
    });

    const attacker = await rawClient(MOSQUITTO_URL);
    for (const payload of payloads) await attacker.publishAsync(`user/${b.identity.userId}/offer`, payload, { qos: 1 });
    await attacker.endAsync();

    await eventually(() => b.rejected.length, (n) => n >= payloads.length, 60_000, `${payloads.length} rejections`);
    await sleep(300);
    expect(b.rejected).toHaveLength(payloads.length);
    expect(b.messages.length).toBe(messagesBefore);
    expect(b.sig.stats().rejectedTotal).toBe(payloads.length);
    // Still fine afterwards.
    a.sig.send(b.identity.userId, 'answer', { sdp: 'after fuzzing' });
    await eventually(() => b.messages.filter((m) => m.type === 'answer').length, (n) => n === 1, 20_000, 'answer after fuzzing');
  });
});
