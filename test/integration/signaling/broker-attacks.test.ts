/**
 * Issue 10, findings 6–8, from the attacker's side against the real embedded broker (aedes over
 * TCP): rate limits that reset on reconnect, subscription floods, and replayed login passwords.
 * The broker's clock is frozen where limits are counted, so every bound is a message count, not
 * a timing.
 */
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { mqttClientId, makeLoginPassword } from '../../../src/main/signaling/mqtt-login';
import { inboxFilter, inboxTopic, presenceTopic } from '../../../src/main/signaling/topics';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { startBroker, type BrokerHandle, type BrokerOptions } from '../../../src/server/broker';
import { generateIdentity, newDeviceId } from '../../../src/shared/identity';
import { eventually, rawClient, sleep, startClient, type TestClient } from './helpers';

let broker: BrokerHandle | null = null;
const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  await broker?.close();
  broker = null;
});

async function open(options: BrokerOptions): Promise<BrokerHandle> {
  broker = await startBroker(options);
  return broker;
}

function track<T extends { endAsync(force?: boolean): Promise<unknown> } | TestClient>(client: T): T {
  cleanups.push(() => ('sig' in client ? client.sig.stop() : client.endAsync(true)));
  return client;
}

/** Publishes `count` QoS 1 messages and waits for their PUBACKs or the broker closing the connection. */
async function publishUntilClosed(client: MqttClient, topic: string, count: number): Promise<void> {
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  const acked = Promise.all(
    Array.from({ length: count }, (_, i) => new Promise<void>((resolve) => client.publish(topic, `flood ${i}`, { qos: 1 }, () => resolve()))),
  );
  await Promise.race([acked, closed, sleep(5000)]);
}

/** SUBACK codes other than 0x80; mqtt.js rejects the whole call when any filter is refused. */
async function grantedCount(client: MqttClient, filters: Record<string, { qos: 1 }>): Promise<number> {
  try {
    return (await client.subscribeAsync(filters)).filter((g) => g.qos !== 128).length;
  } catch (error) {
    const granted = (error as { packet?: { granted?: number[] } }).packet?.granted;
    if (!granted) throw error;
    return granted.filter((code) => code !== 128).length;
  }
}

describe('finding 6: publish limits are per identity and survive reconnects', () => {
  it('a reconnect-and-publish loop gets no more than the burst through (clock frozen: no refill)', async () => {
    const frozen = Date.now();
    const b = await open({ now: () => frozen, limits: { publish: { burst: 20, perSecond: 10 }, connect: { burst: 1000, perSecond: 1 } } });
    const victim = generateIdentity();
    const inbox = track(await rawClient(b.mqttUrl, victim));
    let delivered = 0;
    inbox.on('message', () => delivered++);
    await inbox.subscribeAsync(inboxFilter(victim.userId), { qos: 1 });

    const attacker = generateIdentity();
    const rounds = 15;
    for (let round = 0; round < rounds; round++) {
      // A fresh connection (and clientId) every round: before the fix each got a new full bucket.
      const conn = await rawClient(b.mqttUrl, attacker);
      await publishUntilClosed(conn, inboxTopic(victim.userId, 'contactRequest'), 20);
      await conn.endAsync(true);
    }
    await sleep(300); // let the last accepted ones reach the subscriber
    const stats = b.stats();
    // Messages that got through, counted twice: by the broker and by the recipient.
    expect(stats.published).toBeLessThanOrEqual(20);
    expect(delivered).toBeLessThanOrEqual(20);
    expect(delivered).toBeGreaterThan(0);
    expect(stats.refused.rateLimit).toBeGreaterThanOrEqual(rounds - 1);
  }, 90_000);

  it('logins per identity are rate-limited too, and the refusal says when to retry', async () => {
    const frozen = Date.now();
    const b = await open({ now: () => frozen, limits: { connect: { burst: 5, perSecond: 1 } } });
    const attacker = generateIdentity();
    let accepted = 0;
    const refusals: string[] = [];
    for (let i = 0; i < 20; i++) {
      try {
        const conn = await rawClient(b.mqttUrl, attacker);
        accepted++;
        await conn.endAsync(true);
      } catch (error) {
        refusals.push((error as Error).message);
      }
    }
    expect(accepted).toBe(5);
    expect(refusals).toHaveLength(15);
    expect(b.stats().refused.connectRate).toBe(15);
    expect(b.stats().recentRefusals.at(-1)?.reason).toMatch(/retry in \d+ s/);
    // Someone else is not affected by this identity's budget.
    const other = await rawClient(b.mqttUrl, generateIdentity());
    await other.endAsync(true);
  }, 90_000);
});

describe('finding 7: subscription floods', () => {
  // Any 64 hex digits pass the ACL's userId check; no key pair needed for a presence topic.
  const randomPresence = () => presenceTopic(randomBytes(32).toString('hex'));

  it('caps subscriptions per session (also across reconnects of a persistent session) and counts the rest', async () => {
    const b = await open({ limits: { sessions: { maxSessionsPerUser: 8, maxSessions: 50_000, maxSubscriptionsPerClient: 300, idleExpiryMs: 3_600_000 } } });
    const attacker = generateIdentity();
    const clientId = mqttClientId(attacker.userId, newDeviceId());
    const login = () =>
      rawClient(b.mqttUrl, attacker, { clientId, clean: false, password: makeLoginPassword(attacker, clientId, nodeSigner, Date.now()) });
    let granted = 0;
    let conn = await login();
    for (let packet = 0; packet < 4; packet++) {
      const filters = Object.fromEntries(Array.from({ length: 100 }, () => [randomPresence(), { qos: 1 as const }]));
      granted += await grantedCount(conn, filters);
    }
    await conn.endAsync(true);
    await sleep(5); // a fresh login timestamp for the same clientId
    conn = track(await login());
    granted += await grantedCount(conn, Object.fromEntries(Array.from({ length: 100 }, () => [randomPresence(), { qos: 1 as const }])));
    expect(granted).toBe(300);
    expect(b.stats().refused.subscriptionCap).toBe(200);
    expect(b.stats().subscriptions).toBeLessThanOrEqual(300);
  }, 90_000);

  it('closes a connection that sends SUBSCRIBE packets faster than its identity may, counts it, and serves others', async () => {
    const frozen = Date.now();
    const b = await open({ now: () => frozen, limits: { subscribePackets: { burst: 50, perSecond: 5 } } });
    const attacker = generateIdentity();
    let answered = 0;
    for (let round = 0; round < 3; round++) {
      const conn = await rawClient(b.mqttUrl, attacker);
      const closed = new Promise<void>((resolve) => conn.once('close', () => resolve()));
      for (let i = 0; i < 200; i++) conn.subscribe(randomPresence(), { qos: 1 }, (error) => !error && answered++);
      await Promise.race([closed, sleep(10_000)]);
      expect(conn.connected).toBe(false);
      await conn.endAsync(true);
    }
    expect(answered).toBeLessThanOrEqual(50);
    expect(b.stats().refused.subscribeRate).toBe(3);
    const a = track(await startClient(b.mqttUrl));
    const c = track(await startClient(b.mqttUrl));
    const resend = setInterval(() => a.sig.send(c.identity.userId, 'contactRequest', { name: 'still served', deviceId: a.deviceId }), 300);
    try {
      await eventually(() => c.messages.length, (n) => n >= 1, 20_000, 'a legitimate message during the flood');
    } finally {
      clearInterval(resend);
    }
  }, 90_000);
});

describe('finding 8: a captured login password cannot be replayed', () => {
  it('replaying the CONNECT bytes seen on the wire is refused, counted, and does not kick the real user', async () => {
    const b = await open({});
    // The attacker sits on the path (a forwarding proxy) and records the first packet: CONNECT.
    let captured: Buffer | null = null;
    const proxy = createServer((inbound: Socket) => {
      const outbound = tcpConnect(b.tcpPort, '127.0.0.1');
      inbound.once('data', (chunk: Buffer) => (captured ??= Buffer.from(chunk)));
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => proxy.close(resolve)));
    const proxyUrl = `mqtt://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const victim = track(await startClient(proxyUrl));
    expect(captured![0]! >> 4).toBe(1); // a CONNECT

    const connack = await new Promise<Buffer>((resolve) => {
      const socket = tcpConnect(b.tcpPort, '127.0.0.1', () => socket.write(captured!));
      let got = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        if (got.length >= 4) resolve(got);
      });
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(got));
      cleanups.push(async () => socket.destroy());
    });
    expect(connack[0]).toBe(0x20); // CONNACK…
    expect(connack[3]).not.toBe(0); // …refusing the login
    expect(b.stats().refused.replay).toBe(1);

    // The real user was not kicked: still connected, same session, and still receives its mail.
    await sleep(300);
    expect(victim.states.filter((s) => s.startsWith('reconnecting'))).toEqual([]);
    const sender = track(await startClient(b.mqttUrl));
    sender.sig.send(victim.identity.userId, 'contactRequest', { name: 'after the replay', deviceId: sender.deviceId });
    await eventually(() => victim.messages.length, (n) => n >= 1, 20_000, 'victim still receives');
    expect(victim.states.filter((s) => s.startsWith('reconnecting'))).toEqual([]);
  }, 60_000);
});

describe('finding 5: sessions per identity are capped and idle sessions expire', () => {
  const persistentLogin = (url: string, identity: ReturnType<typeof generateIdentity>, deviceId = newDeviceId()) => {
    const clientId = mqttClientId(identity.userId, deviceId);
    return rawClient(url, identity, { clientId, clean: false, password: makeLoginPassword(identity, clientId, nodeSigner, Date.now()) });
  };

  it('one identity opening many persistent sessions keeps at most the cap; the oldest offline ones go, counted', async () => {
    const b = await open({ limits: { sessions: { maxSessionsPerUser: 3, maxSessions: 50_000, maxSubscriptionsPerClient: 1_000, idleExpiryMs: 3_600_000 } } });
    const attacker = generateIdentity();
    for (let i = 0; i < 10; i++) {
      const conn = await persistentLogin(b.mqttUrl, attacker);
      await conn.subscribeAsync(inboxFilter(attacker.userId), { qos: 1 });
      await conn.endAsync();
    }
    await sleep(100);
    expect(b.stats().persistentSessions).toBe(3);
    expect(b.stats().refused.session).toBe(7);
    // Messages to the attacker are queued for 3 sessions, not 10.
    const sender = track(await rawClient(b.mqttUrl, generateIdentity()));
    await sender.publishAsync(inboxTopic(attacker.userId, 'offer'), 'x', { qos: 1 });
    await eventually(() => b.stats().queues.queuedMessages, (n) => n >= 3, 5000, 'queued copies');
    expect(b.stats().queues.queuedMessages).toBe(3);
  }, 60_000);

  it('a persistent session nobody uses is deleted with its queue after the idle expiry', async () => {
    const b = await open({ limits: { sessions: { maxSessionsPerUser: 8, maxSessions: 50_000, maxSubscriptionsPerClient: 1_000, idleExpiryMs: 400 } } });
    const idle = generateIdentity();
    const deviceId = newDeviceId();
    const conn = await persistentLogin(b.mqttUrl, idle, deviceId);
    await conn.subscribeAsync(inboxFilter(idle.userId), { qos: 1 });
    await conn.endAsync();
    const sender = track(await rawClient(b.mqttUrl, generateIdentity()));
    for (let i = 0; i < 5; i++) await sender.publishAsync(inboxTopic(idle.userId, 'offer'), `queued ${i}`, { qos: 1 });
    expect(b.stats().queues.queuedMessages).toBe(5);
    await eventually(() => b.stats().expiredSessions, (n) => n >= 1, 10_000, 'session expiry');
    await eventually(() => b.stats().queues.queuedMessages, (n) => n === 0, 5000, 'queue freed');
    // Coming back finds no session and nothing queued.
    let got = 0;
    const backId = mqttClientId(idle.userId, deviceId);
    const back = track(await rawClient(b.mqttUrl, idle, {
      clientId: backId, clean: false, password: makeLoginPassword(idle, backId, nodeSigner, Date.now()),
    }, () => got++));
    expect(back.connected).toBe(true);
    await sleep(300);
    expect(got).toBe(0);
  }, 60_000);
});
