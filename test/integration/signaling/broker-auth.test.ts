/**
 * The embedded broker's gatekeeping: signed logins, per-user subscribe ACL, signaling-only publish
 * ACL, payload limit and per-client rate limit. Every refusal is counted in stats().
 */
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { makeLoginPassword, mqttClientId } from '../../../src/main/signaling/mqtt-login';
import { generateIdentity, newDeviceId } from '../../../src/shared/identity';
import { eventually, openTarget, rawClient, sleep, startClient, type Target, type TestClient } from './helpers';

async function connectFails(url: string, options: IClientOptions): Promise<{ code: unknown; message: string }> {
  try {
    const client = await connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options });
    await client.endAsync(true);
  } catch (error) {
    const e = error as Error & { code?: unknown };
    return { code: e.code, message: e.message };
  }
  throw new Error('connection was accepted');
}

/** The SUBACK return code for one subscription (128 = refused). */
async function grantedQos(client: MqttClient, topic: string): Promise<number> {
  try {
    const granted = await client.subscribeAsync(topic, { qos: 1 });
    return granted[0]!.qos;
  } catch (error) {
    const granted = (error as { packet?: { granted?: unknown[] } }).packet?.granted;
    if (Array.isArray(granted) && typeof granted[0] === 'number') return granted[0];
    throw error;
  }
}

function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => (client.connected ? client.once('close', () => resolve()) : resolve()));
}

describe('embedded broker authentication and authorization', () => {
  let target: Target;

  beforeAll(async () => {
    target = await openTarget('embedded');
  });
  afterAll(async () => {
    await target.close();
  });

  const stats = () => target.broker!.stats();

  it('refuses logins without a valid fresh signature over the clientId, with a reason, and counts them', async () => {
    const victim = generateIdentity();
    const attacker = generateIdentity();
    const clientId = mqttClientId(victim.userId, newDeviceId());
    const before = stats().refused.login;

    // 1. anonymous
    expect((await connectFails(target.url, { clientId })).code).toBe(4);
    // 2. forged: the victim's username, signed with the attacker's key
    expect(
      (await connectFails(target.url, { clientId, username: victim.userId, password: makeLoginPassword(attacker, clientId, nodeSigner, Date.now()) })).code,
    ).toBe(4);
    // 3. a genuine signature, but 3 minutes old
    expect(
      (await connectFails(target.url, { clientId, username: victim.userId, password: makeLoginPassword(victim, clientId, nodeSigner, Date.now() - 180_000) })).code,
    ).toBe(4);
    // 4. a genuine password replayed under another clientId (e.g. to steal another device's session)
    const otherClientId = mqttClientId(victim.userId, newDeviceId());
    expect(
      (await connectFails(target.url, { clientId: otherClientId, username: victim.userId, password: makeLoginPassword(victim, clientId, nodeSigner, Date.now()) })).code,
    ).toBe(4);
    // 5. a clientId that does not belong to the username
    const foreignId = mqttClientId(attacker.userId, newDeviceId());
    expect(
      (await connectFails(target.url, { clientId: foreignId, username: victim.userId, password: makeLoginPassword(victim, foreignId, nodeSigner, Date.now()) })).code,
    ).toBe(4);
    // 6. garbage password
    expect((await connectFails(target.url, { clientId, username: victim.userId, password: '{"ts":"soon"' })).code).toBe(4);
    // 7. valid login, but a last-will aimed at someone else's inbox
    expect(
      (
        await connectFails(target.url, {
          clientId,
          username: victim.userId,
          password: makeLoginPassword(victim, clientId, nodeSigner, Date.now()),
          will: { topic: `user/${attacker.userId}/offer`, payload: Buffer.from('x'), qos: 1, retain: true },
        })
      ).code,
    ).toBe(5);

    const after = stats();
    expect(after.refused.login - before).toBe(7);
    const reasons = after.recentRefusals.filter((r) => r.kind === 'login').map((r) => r.reason);
    expect(reasons).toEqual(
      expect.arrayContaining([
        'username is not a userId',
        'login signature does not verify',
        'login timestamp outside 2 minutes',
        'clientId does not match parley-{userId16}-{deviceId}',
        'password is not JSON',
        'will refused: retained messages are not allowed in inboxes',
      ]),
    );

    // and a correct login works
    const ok = await rawClient(target.url, victim);
    expect(ok.connected).toBe(true);
    await ok.endAsync();
  });

  it('lets a client subscribe only to its own inbox (and to exact presence topics)', async () => {
    const me = generateIdentity();
    const other = await startClient(target.url);
    const raw = await rawClient(target.url, me);
    const before = stats().refused.subscribe;
    const topics = [
      `user/${me.userId}/#`,
      `user/${other.identity.userId}/#`,
      `user/${other.identity.userId}/offer`,
      'user/+/offer',
      '#',
      'presence/+',
      `presence/${other.identity.userId}`,
    ];
    const byTopic: Record<string, number> = {};
    for (const topic of topics) byTopic[topic] = await grantedQos(raw, topic);
    expect(byTopic[`user/${me.userId}/#`]).toBe(1);
    expect(byTopic[`presence/${other.identity.userId}`]).toBe(1);
    for (const refused of [`user/${other.identity.userId}/#`, `user/${other.identity.userId}/offer`, 'user/+/offer', '#', 'presence/+']) {
      expect(byTopic[refused], refused).toBe(128);
    }
    expect(stats().refused.subscribe - before).toBe(5);

    // The refused subscriptions really carry nothing: traffic to `other` never reaches `raw`.
    const seen: string[] = [];
    raw.on('message', (topic) => seen.push(topic));
    const sender = await startClient(target.url);
    sender.sig.send(other.identity.userId, 'offer', { sdp: 'for other only' });
    await eventually(() => other.messages.filter((m) => m.type === 'offer').length, (n) => n === 1, 10_000, 'other to get its offer');
    await sleep(200);
    expect(seen.filter((t) => t.startsWith(`user/${other.identity.userId}/`))).toEqual([]);
    await raw.endAsync();
    await Promise.all([other.sig.stop(), sender.sig.stop()]);
  });

  it('refuses publishing outside the signaling topics, retained inbox messages, foreign presence and oversize payloads', async () => {
    const me = generateIdentity();
    const other = generateIdentity();
    const cases: Array<{ topic: string; payload: Buffer; retain?: boolean; reason: RegExp }> = [
      { topic: 'chat/general', payload: Buffer.from('hi'), reason: /not allowed/ },
      { topic: `user/${other.userId}/launchMissiles`, payload: Buffer.from('{}'), reason: /unknown signaling type/ },
      { topic: `user/${other.userId}/offer/extra`, payload: Buffer.from('{}'), reason: /not allowed/ },
      { topic: `user/not-a-user-id/offer`, payload: Buffer.from('{}'), reason: /not allowed/ },
      { topic: `user/${other.userId}/offer`, payload: Buffer.from('{}'), retain: true, reason: /retained/ },
      { topic: `presence/${other.userId}`, payload: Buffer.from('{}'), reason: /own presence/ },
      { topic: `user/${other.userId}/offer`, payload: Buffer.alloc(64 * 1024 + 1, 0x41), reason: /exceeds/ },
      { topic: '$SYS/broker/fake', payload: Buffer.from('x'), reason: /not allowed/ },
      // cut off at its header, before aedes would buffer it
      { topic: `user/${other.userId}/offer`, payload: Buffer.alloc(10 * 1024 * 1024, 0x41), reason: /packet of 104858\d\d B exceeds/ },
    ];
    for (const c of cases) {
      const before = stats().refused.publish;
      const raw = await rawClient(target.url, me);
      const gone = closed(raw);
      raw.publish(c.topic, c.payload, { qos: 1, retain: c.retain ?? false });
      await gone; // MQTT 3.1.1 has no negative PUBACK: the broker drops the connection
      expect(stats().refused.publish - before, c.topic).toBe(1);
      expect(stats().recentRefusals.at(-1)?.reason, c.topic).toMatch(c.reason);
      raw.end(true);
    }
  });

  it('over WebSocket, refuses a 10 MB publish too', async () => {
    const me = generateIdentity();
    const raw = await rawClient(target.broker!.wsUrl, me);
    const before = stats().refused.publish;
    const gone = closed(raw);
    raw.publish(`user/${generateIdentity().userId}/offer`, Buffer.alloc(10 * 1024 * 1024, 0x41), { qos: 1 });
    await gone;
    await eventually(() => stats().refused.publish - before, (n) => n >= 1, 10_000, 'the refusal to be counted');
    expect(stats().recentRefusals.at(-1)?.reason).toMatch(/exceeds|WebSocket frame over/);
    raw.end(true);
  });

  it('rate-limits each client: over-limit publishes are refused and counted', async () => {
    const limited = await openTarget('embedded', { rateLimit: { burst: 5, perSecond: 1 } });
    try {
      const me = generateIdentity();
      const other = generateIdentity();
      const raw = await rawClient(limited.url, me);
      const gone = closed(raw);
      for (let i = 0; i < 20; i++) raw.publish(`user/${other.userId}/offer`, `{"n":${i}}`, { qos: 0 });
      await gone;
      const s = limited.broker!.stats();
      expect(s.refused.rateLimit).toBeGreaterThanOrEqual(1);
      expect(s.published).toBe(5);
      expect(s.recentRefusals.some((r) => r.kind === 'rateLimit' && /msg\/s/.test(r.reason))).toBe(true);
      raw.end(true);
    } finally {
      await limited.close();
    }
  });

  it('an honest client that bursts past the limit is slowed down, not robbed: everything arrives once, in order', async () => {
    const limited = await openTarget('embedded', { rateLimit: { burst: 10, perSecond: 40 } });
    let a: TestClient | undefined;
    let b: TestClient | undefined;
    try {
      b = await startClient(limited.url);
      a = await startClient(limited.url);
      for (let i = 0; i < 60; i++) a.sig.send(b.identity.userId, 'offer', { sdp: `burst-${i}` });
      const got = await eventually(
        () => b!.messages.filter((m) => m.type === 'offer'),
        (list) => list.length >= 60,
        60_000,
        'all 60 offers',
      );
      expect(got.map((m) => (m.type === 'offer' ? m.body.sdp : ''))).toEqual(Array.from({ length: 60 }, (_, i) => `burst-${i}`));
      expect(limited.broker!.stats().refused.rateLimit).toBeGreaterThanOrEqual(1);
      expect(a.states.some((s) => s.startsWith('reconnecting'))).toBe(true);
      // QoS 1 is at-least-once: whatever the broker had acknowledged just before dropping the
      // connection may come again, and the receiver's replay guard drops exactly those.
      expect(b.rejected.every((r) => r.code === 'REPLAY')).toBe(true);
    } finally {
      await Promise.all([a?.sig.stop(), b?.sig.stop()]);
      await limited.close();
    }
  });
});
