/**
 * Resource-bound suite for the embedded MQTT broker (issue 10, finding 5 and the MQTT floods):
 * a real broker in its own process, flooded for a bounded time by throwaway identities. Each
 * flood checks that the broker's memory stays under a stated cap, that legitimate users are still
 * served (their login latency against an idle baseline is printed, not asserted), and that every
 * refusal the attackers saw is counted in the broker's stats. Default (production) limits.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { makeLoginPassword, mqttClientId } from '../../../src/main/signaling/mqtt-login';
import { inboxFilter, inboxTopic, presenceTopic } from '../../../src/main/signaling/topics';
import { generateIdentity, newDeviceId, type Identity } from '../../../src/shared/identity';
import { startBrokerProcess, type BrokerProcess, type BrokerSample } from './broker-process';
import { eventually, newClient, rawClient, sleep, startClient } from './helpers';

const MiB = 1024 * 1024;
/** Stated cap: the broker process may grow this much over its idle size during any flood. */
const RSS_GROWTH_CAP = 160 * MiB;
// A full subscription table (50,000 filters, the broker-wide cap) measured 86-163 MiB of peak
// growth over 8 CI runs; unbounded, the same flood grows without limit.
const SUBSCRIPTION_RSS_GROWTH_CAP = 200 * MiB;
const FLOOD_MS = 10_000;

let broker: BrokerProcess;
let idleRss = 0;
let idleLoginMs = 0;

beforeAll(async () => {
  broker = await startBrokerProcess();
  idleLoginMs = await medianLoginMs(broker.url);
  idleRss = (await broker.sample()).rssBytes;
}, 120_000);

afterAll(async () => {
  await broker?.stop();
});

async function loginMs(url: string): Promise<number> {
  const started = performance.now();
  const client = await startClient(url);
  const elapsed = performance.now() - started;
  await client.sig.stop();
  return elapsed;
}

async function medianLoginMs(url: string): Promise<number> {
  const runs = [await loginMs(url), await loginMs(url), await loginMs(url)].sort((a, b) => a - b);
  return runs[1]!;
}

/** Samples the broker every 500 ms while `flood` runs; stops the flood early once over the cap. */
async function watchMemory(flood: (shouldStop: () => boolean) => Promise<void>, cap = RSS_GROWTH_CAP): Promise<{ peakGrowth: number; last: BrokerSample }> {
  let peak = 0;
  let over = false;
  let running = true;
  let last = await broker.sample();
  const sampler = (async () => {
    while (running) {
      last = await broker.sample();
      peak = Math.max(peak, last.rssBytes - idleRss);
      if (peak > cap) over = true;
      await sleep(500);
    }
  })();
  await flood(() => over);
  running = false;
  await sampler;
  last = await broker.sample();
  peak = Math.max(peak, last.rssBytes - idleRss);
  return { peakGrowth: peak, last };
}

function report(name: string, peakGrowth: number, loginDuringMs: number, cap = RSS_GROWTH_CAP): void {
  const load = (process as unknown as { loadavg?: () => number[] }).loadavg?.() ?? [];
  console.log(
    `[broker flood: ${name}] peak RSS growth ${(peakGrowth / MiB).toFixed(1)} MiB (cap ${cap / MiB} MiB); ` +
      `legitimate login ${loginDuringMs.toFixed(0)} ms during vs ${idleLoginMs.toFixed(0)} ms idle (${(loginDuringMs / idleLoginMs).toFixed(2)}x)` +
      (load.length ? `; load ${load.map((l) => l.toFixed(2)).join(' ')}` : ''),
  );
}

async function persistentSession(url: string, identity: Identity, filters: string[]): Promise<void> {
  const clientId = mqttClientId(identity.userId, newDeviceId());
  const conn = await rawClient(url, identity, { clientId, clean: false, password: makeLoginPassword(identity, clientId, nodeSigner, Date.now()) });
  await conn.subscribeAsync(Object.fromEntries(filters.map((f) => [f, { qos: 1 as const }])));
  await conn.endAsync();
}

/** Publishes at about `perSecond` (QoS 1, not awaited) until stopped; reconnects when the broker closes it. */
async function publishLoop(url: string, identity: Identity, topics: string[], payload: Buffer, perSecond: number, until: () => boolean): Promise<void> {
  let conn: MqttClient | null = null;
  while (!until()) {
    if (!conn || !conn.connected) {
      conn?.end(true);
      conn = await rawClient(url, identity).catch(() => null);
      if (!conn) {
        await sleep(500);
        continue;
      }
    }
    for (let i = 0; i < perSecond / 10; i++) conn.publish(topics[i % topics.length]!, payload, { qos: 1 });
    await sleep(100);
  }
  await conn?.endAsync(true);
}

describe('MQTT floods against a broker process (default limits)', () => {
  it('offline queues: throwaway identities flood persistent sessions; memory stays capped and a queued contact request still arrives', async () => {
    const before = (await broker.sample()).stats;
    // The legitimate recipient: has a persistent session, then goes offline.
    const victim = newClient(broker.url);
    victim.sig.start();
    await victim.sig.whenConnected();
    await sleep(200);
    await victim.sig.stop();

    const attackers = Array.from({ length: 6 }, () => generateIdentity());
    for (const attacker of attackers) {
      for (let s = 0; s < 8; s++) await persistentSession(broker.url, attacker, [inboxFilter(attacker.userId)]);
    }
    const payload = randomBytes(60 * 1024);
    let loginDuring = 0;
    const { peakGrowth, last } = await watchMemory(async (over) => {
      const deadline = Date.now() + FLOOD_MS;
      const until = () => over() || Date.now() > deadline;
      const floods = attackers.map((attacker, i) =>
        publishLoop(
          broker.url,
          attacker,
          // The first attacker also stuffs the victim's own queue.
          i === 0 ? [inboxTopic(attacker.userId, 'offer'), inboxTopic(victim.identity.userId, 'offer')] : [inboxTopic(attacker.userId, 'offer')],
          payload,
          90,
          until,
        ),
      );
      await sleep(FLOOD_MS / 2);
      loginDuring = await loginMs(broker.url);
      const sender = await startClient(broker.url);
      sender.sig.send(victim.identity.userId, 'contactRequest', { name: 'legitimate', deviceId: sender.deviceId });
      await sender.sig.flush();
      await sender.sig.stop();
      await Promise.all(floods);
    });
    report('offline queues', peakGrowth, loginDuring);
    expect(peakGrowth).toBeLessThan(RSS_GROWTH_CAP);
    expect(last.stats.refused.queueDrop - before.refused.queueDrop).toBeGreaterThan(0);
    expect(last.stats.queues.queuedBytes).toBeLessThanOrEqual(256 * MiB);

    // The victim's app starts again (same identity and device, so the same persistent session).
    const back = newClient(broker.url, { identity: victim.identity, deviceId: victim.deviceId });
    back.sig.start();
    try {
      await eventually(
        () => back.messages.filter((m) => m.type === 'contactRequest').length,
        (n) => n >= 1,
        30_000,
        'the queued contact request',
      ).catch((error: Error) => {
        throw new Error(`${error.message}; victim got ${back.messages.length} messages, rejected ${back.rejected.length}`);
      });
    } finally {
      await back.sig.stop();
    }
  }, 180_000);

  it('reconnect loops: logins and publishes are limited per identity, counted, and memory stays capped', async () => {
    const before = (await broker.sample()).stats;
    const target = generateIdentity();
    const attackers = Array.from({ length: 6 }, () => generateIdentity());
    let refusedLogins = 0;
    let loginDuring = 0;
    const { peakGrowth, last } = await watchMemory(async (over) => {
      const deadline = Date.now() + FLOOD_MS;
      const floods = attackers.map(async (attacker) => {
        while (!over() && Date.now() < deadline) {
          try {
            const conn = await rawClient(broker.url, attacker, { connectTimeout: 5000 });
            for (let i = 0; i < 50; i++) conn.publish(inboxTopic(target.userId, 'contactRequest'), 'x', { qos: 0 });
            await conn.endAsync(true);
          } catch (error) {
            if (/Not authorized/i.test((error as Error).message)) refusedLogins++;
          }
        }
      });
      await sleep(FLOOD_MS / 2);
      loginDuring = await loginMs(broker.url);
      await Promise.all(floods);
    });
    report('reconnects', peakGrowth, loginDuring);
    expect(peakGrowth).toBeLessThan(RSS_GROWTH_CAP);
    expect(refusedLogins).toBeGreaterThan(0);
    // Every refusal the attackers saw is in the broker's count.
    expect(last.stats.refused.connectRate - before.refused.connectRate).toBe(refusedLogins);
    // At most burst + rate x time publishes per identity got through.
    const published = last.stats.published - before.published;
    expect(published).toBeLessThanOrEqual(attackers.length * (200 + 100 * (FLOOD_MS / 1000 + 20)) + 100);
  }, 180_000);

  it('subscription floods: capped per session and per second, counted, memory capped, others served', async () => {
    const before = (await broker.sample()).stats;
    const attackers = Array.from({ length: 4 }, () => generateIdentity());
    let refusedFilters = 0;
    let loginDuring = 0;
    const { peakGrowth, last } = await watchMemory(async (over) => {
      const deadline = Date.now() + FLOOD_MS;
      const floods = attackers.map(async (attacker) => {
        const clientId = mqttClientId(attacker.userId, newDeviceId());
        while (!over() && Date.now() < deadline) {
          const conn = await rawClient(broker.url, attacker, {
            clientId, clean: false, password: makeLoginPassword(attacker, clientId, nodeSigner, Date.now()), connectTimeout: 5000,
          }).catch(() => null);
          if (!conn) {
            await sleep(500);
            continue;
          }
          while (conn.connected && !over() && Date.now() < deadline) {
            const filters = Object.fromEntries(Array.from({ length: 200 }, () => [presenceTopic(randomBytes(32).toString('hex')), { qos: 1 as const }]));
            try {
              const granted = await conn.subscribeAsync(filters);
              refusedFilters += granted.filter((g) => g.qos === 128).length;
            } catch (error) {
              const granted = (error as { packet?: { granted?: number[] } }).packet?.granted;
              if (granted) refusedFilters += granted.filter((code) => code === 128).length;
            }
          }
          await conn.endAsync(true);
        }
      });
      await sleep(FLOOD_MS / 2);
      loginDuring = await loginMs(broker.url);
      const a = await startClient(broker.url);
      const b = await startClient(broker.url);
      const resend = setInterval(() => a.sig.send(b.identity.userId, 'contactRequest', { name: 'served', deviceId: a.deviceId }), 300);
      try {
        await eventually(() => b.messages.length, (n) => n >= 1, 20_000, 'a legitimate message during the subscription flood');
      } finally {
        clearInterval(resend);
        await Promise.all([a.sig.stop(), b.sig.stop()]);
      }
      await Promise.all(floods);
    }, SUBSCRIPTION_RSS_GROWTH_CAP);
    report('subscriptions', peakGrowth, loginDuring, SUBSCRIPTION_RSS_GROWTH_CAP);
    expect(peakGrowth).toBeLessThan(SUBSCRIPTION_RSS_GROWTH_CAP);
    expect(refusedFilters).toBeGreaterThan(0);
    expect(last.stats.refused.subscriptionCap - before.refused.subscriptionCap).toBeGreaterThanOrEqual(refusedFilters);
    expect(last.stats.subscriptions).toBeLessThanOrEqual(50_000);
  }, 180_000);
});
