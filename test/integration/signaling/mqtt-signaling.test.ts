/**
 * MQTT signaling between two real clients, against both the machine's Mosquitto and the embedded
 * aedes broker: every signaling type both ways, encrypted on the wire; a contact request delivered
 * through a persistent session to a user who was offline; WebSocket transport.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/shared/encoding';
import { withTimeout } from '../../../src/shared/timeout';
import { zEnvelope } from '../../../src/shared/envelope';
import type { MqttSignal } from '../../../src/main/signaling/mqtt-signaling';
import {
  BROKER_KINDS,
  eventually,
  forgetOnBroker,
  newClient,
  openTarget,
  rawClient,
  startClient,
  type Target,
  type TestClient,
} from './helpers';

const SECRET = `secret-${Math.random().toString(36).slice(2)}`;

function samples(deviceId: string): MqttSignal[] {
  return [
    { type: 'offer', body: { sdp: `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=${SECRET}-offer\r\n` } },
    { type: 'answer', body: { sdp: `v=0\r\ns=${SECRET}-answer\r\n` } },
    {
      type: 'iceCandidate',
      body: { candidate: { candidate: `candidate:1 1 udp 2122260223 10.1.2.3 5000 typ host ufrag ${SECRET}`, sdpMid: '0', sdpMLineIndex: 0 } },
    },
    { type: 'iceCandidate', body: { candidate: null } },
    { type: 'contactRequest', body: { name: `Alice ${SECRET}`, deviceId } },
    { type: 'contactResponse', body: { accept: true, name: `Bob ${SECRET}` } },
    { type: 'chatPresence', body: { open: true } },
    { type: 'presence', body: { status: 'online' } },
    { type: 'heartbeat', body: {} },
  ];
}

const key = (m: { type: string; body: unknown }): string => `${m.type}:${canonicalJson(m.body)}`;

describe.each(BROKER_KINDS)('MQTT signaling over %s', (kind) => {
  let target: Target;
  const clients: TestClient[] = [];
  const wire: Array<{ topic: string; payload: string }> = [];
  let observer: MqttClient | undefined;

  beforeAll(async () => {
    target = await openTarget(kind);
  });
  afterAll(async () => {
    await observer?.endAsync();
    await Promise.all(clients.map((c) => c.sig.stop()));
    if (kind === 'mosquitto') await forgetOnBroker(target.url, clients);
    await target.close();
  });

  async function client(overrides: Parameters<typeof startClient>[1] = {}): Promise<TestClient> {
    const c = await startClient(target.url, overrides);
    clients.push(c);
    return c;
  }

  it('exchanges every signaling type both ways, and the broker only ever sees sealed bodies', async () => {
    const a = await client();
    const b = await client();
    // Something that can see everything on the wire: a raw subscriber on Mosquitto (anonymous, no
    // ACL), the broker's own publish hook on the embedded broker (whose ACL forbids such a subscriber).
    if (kind === 'mosquitto') {
      observer = await rawClient(target.url);
      await observer.subscribeAsync([`user/${a.identity.userId}/#`, `user/${b.identity.userId}/#`], { qos: 1 });
      observer.on('message', (topic, payload) => wire.push({ topic, payload: payload.toString('utf8') }));
    } else {
      target.broker!.aedes.on('publish', (packet) => {
        if (packet.topic.startsWith('user/')) wire.push({ topic: packet.topic, payload: packet.payload.toString() });
      });
    }

    const toB = samples(a.deviceId);
    const toA = samples(b.deviceId);
    for (const m of toB) a.sig.send(b.identity.userId, m.type, m.body as never);
    for (const m of toA) b.sig.send(a.identity.userId, m.type, m.body as never);

    const inbox = (c: TestClient) => c.messages.filter((m) => m.channel === 'inbox');
    await eventually(() => inbox(b).length, (n) => n >= toB.length, 20_000, 'B to receive all');
    await eventually(() => inbox(a).length, (n) => n >= toA.length, 20_000, 'A to receive all');

    expect(inbox(b).map(key).sort()).toEqual(toB.map(key).sort());
    expect(inbox(a).map(key).sort()).toEqual(toA.map(key).sort());
    expect(inbox(b).every((m) => m.from === a.identity.userId)).toBe(true);
    expect(inbox(a).every((m) => m.from === b.identity.userId)).toBe(true);
    // QoS 1 messages keep their order (heartbeats are QoS 0 and may interleave).
    const ordered = (list: MqttSignal[]) => list.filter((m) => m.type !== 'heartbeat').map(key);
    expect(ordered(inbox(b))).toEqual(ordered(toB));
    expect(a.rejected).toEqual([]);
    expect(b.rejected).toEqual([]);

    await eventually(() => wire.length, (n) => n >= toB.length + toA.length, 10_000, 'observer to see the traffic');
    for (const { topic, payload } of wire) {
      expect(payload).not.toContain(SECRET);
      expect(payload).not.toContain('candidate:1');
      const env = zEnvelope.parse(JSON.parse(payload));
      expect(Object.keys(env.body as object)).toEqual(['sealed']);
      expect(topic.endsWith(`/${env.type}`)).toBe(true);
    }
  });

  it('delivers a contact request sent while the recipient was offline (persistent session)', async () => {
    const a = await client();
    // B has logged in once (so the broker has its session), then goes away cleanly.
    const bFirst = await client();
    await bFirst.sig.stop();

    a.sig.send(bFirst.identity.userId, 'contactRequest', { name: 'Alice', deviceId: a.deviceId });
    await a.sig.flush(); // acknowledged by the broker while B is offline

    // B's app restarts: a new instance with the same identity and device reconnects.
    const bAgain = await client({ identity: bFirst.identity, deviceId: bFirst.deviceId });
    const received = await eventually(
      () => bAgain.messages.filter((m) => m.type === 'contactRequest'),
      (list) => list.length >= 1,
      20_000,
      'the queued contact request',
    );
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ from: a.identity.userId, body: { name: 'Alice', deviceId: a.deviceId } });
    expect(bFirst.messages.filter((m) => m.type === 'contactRequest')).toEqual([]);
  });

  it('queues messages sent before the first connection and flushes them in order', async () => {
    const b = await client();
    const a = newClient(target.url);
    clients.push(a);
    for (let i = 0; i < 20; i++) a.sig.send(b.identity.userId, 'offer', { sdp: `early-${i}` });
    expect(a.sig.stats().queued).toBe(20);
    a.sig.start();
    const got = await eventually(
      () => b.messages.filter((m) => m.type === 'offer' && m.from === a.identity.userId),
      (list) => list.length >= 20,
      20_000,
      'queued offers',
    );
    expect(got.map((m) => (m.type === 'offer' ? m.body.sdp : ''))).toEqual(Array.from({ length: 20 }, (_, i) => `early-${i}`));
    expect(a.sig.stats().queued).toBe(0);
  });

  it('the same signaling object can be stopped and started again, and still sends and receives', async () => {
    const a = await client();
    const b = await client();
    await a.sig.stop();
    expect(a.sig.connectionState).toBe('offline');
    a.sig.start();
    await withTimeout(a.sig.whenConnected(), 30_000, 'reconnect after a restart');
    a.sig.send(b.identity.userId, 'offer', { sdp: 'after-restart' });
    b.sig.send(a.identity.userId, 'answer', { sdp: 'back-to-restarted' });
    await eventually(() => b.messages.filter((m) => m.type === 'offer' && m.from === a.identity.userId), (l) => l.length >= 1, 20_000, 'offer after restart');
    await eventually(() => a.messages.filter((m) => m.type === 'answer' && m.from === b.identity.userId), (l) => l.length >= 1, 20_000, 'answer to the restarted client');
  });
});

describe('MQTT signaling over the embedded broker\'s WebSocket listener', () => {
  it('connects over ws:// and exchanges messages', async () => {
    const target = await openTarget('embedded');
    const a = await startClient(target.broker!.wsUrl);
    const b = await startClient(target.broker!.wsUrl);
    try {
      a.sig.send(b.identity.userId, 'offer', { sdp: 'over-websocket' });
      const got = await eventually(() => b.messages.filter((m) => m.type === 'offer'), (l) => l.length === 1, 20_000, 'offer over ws');
      expect(got[0]).toMatchObject({ from: a.identity.userId, body: { sdp: 'over-websocket' } });
      expect(target.broker!.stats().logins).toBeGreaterThanOrEqual(2);
    } finally {
      await Promise.all([a.sig.stop(), b.sig.stop()]);
      await target.close();
    }
  });
});
