/** The offline-queue cap holds on the in-memory and the LevelDB backend, and delivers exactly what it kept. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { makeLoginPassword, mqttClientId } from '../../../src/main/signaling/mqtt-login';
import { inboxFilter, inboxTopic } from '../../../src/main/signaling/topics';
import { startBroker, type BrokerHandle as Broker } from '../../../src/server/broker';
import { levelBackend, memoryBackend } from '../../../src/server/broker/persistence';
import { generateIdentity, newDeviceId, type Identity } from '../../../src/shared/identity';
import { eventually, rawClient, sleep } from './helpers';

const CAP = 5;
const SENT = 20;

type Kind = 'memory' | 'level';

async function withBroker(kind: Kind, run: (b: Broker) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-qcap-'));
  const persistence = kind === 'level' ? await levelBackend(dir)() : await memoryBackend();
  const b = await startBroker({ persistence, limits: { queues: { maxMessages: CAP, maxBytes: 1024 * 1024, maxTotalBytes: 64 * 1024 * 1024 } } });
  try {
    await run(b);
  } finally {
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A persistent session that subscribed to its inbox and went offline; `comeBack` logs in again and collects what was kept. */
async function offlineSession(b: Broker): Promise<{ me: Identity; comeBack(): Promise<string[]> }> {
  const me = generateIdentity();
  const clientId = mqttClientId(me.userId, newDeviceId());
  const first = await rawClient(b.mqttUrl, me, { clientId, clean: false, password: makeLoginPassword(me, clientId, nodeSigner, Date.now()) });
  await first.subscribeAsync(inboxFilter(me.userId), { qos: 1 });
  await first.endAsync();
  // The DISCONNECT must have been processed: a publish racing it would go to the live session.
  await eventually(() => b.stats().connectedClients, (n) => n === 0, 10_000, 'the first session to go offline');
  return {
    me,
    async comeBack() {
      const got: string[] = [];
      const back = await rawClient(b.mqttUrl, me, {
        clientId, clean: false, password: makeLoginPassword(me, clientId, nodeSigner, Date.now() + 1),
      }, (_topic, payload) => got.push(payload.toString()));
      // A loaded machine replays a disk queue slowly: wait for the cap's worth, then a little
      // longer for any that should not be there.
      await eventually(() => got.length, (n) => n >= CAP, 30_000, 'the kept messages to arrive').catch(() => undefined);
      await sleep(500);
      await back.endAsync();
      return got;
    },
  };
}

/** A PUBACK can leave before the broker's queue work for it ends: wait for the drops to be counted, then check no more come. */
async function settledDrops(b: Broker, expected: number): Promise<void> {
  await eventually(() => b.stats().refused.queueDrop, (n) => n >= expected, 10_000, `${expected} queue drops`).catch(() => undefined);
  await sleep(100);
  expect(b.stats().refused.queueDrop).toBe(expected);
}

describe.each(['memory', 'level'] as const)('offline queue cap on the %s backend', (kind) => {
  it('an offline session keeps messages only up to the cap, and gets exactly those it kept', async () => {
    await withBroker(kind, async (b) => {
      const session = await offlineSession(b);
      const sender = await rawClient(b.mqttUrl, generateIdentity());
      for (let i = 0; i < SENT; i++) await sender.publishAsync(inboxTopic(session.me.userId, 'offer'), `m${i}`, { qos: 1 });
      await sender.endAsync();
      await settledDrops(b, SENT - CAP);
      const got = await session.comeBack();
      // The oldest go (drop-oldest), on disk as in memory, while the user is offline.
      expect(got).toEqual(['m15', 'm16', 'm17', 'm18', 'm19']);
    });
  }, 60_000);

  // aedes writes several publishes' queue entries at once; on disk a check-then-count cap let two
  // through for one free slot, and concurrent deletes emptied the whole queue.
  it('publishes in flight together still keep exactly the cap, and every kept message arrives', async () => {
    await withBroker(kind, async (b) => {
      const session = await offlineSession(b);
      const sender = await rawClient(b.mqttUrl, generateIdentity());
      await Promise.all(Array.from({ length: SENT }, (_, i) => sender.publishAsync(inboxTopic(session.me.userId, 'offer'), `m${i}`, { qos: 1 })));
      await sender.endAsync();
      await settledDrops(b, SENT - CAP);
      expect(b.stats().queues.queuedMessages).toBe(CAP);
      // /metrics' parley_broker_pending_deliveries: what is stored, not what was offered.
      expect(b.pendingDeliveries()).toBe(CAP);
      const got = await session.comeBack();
      expect(got).toHaveLength(CAP);
      expect(new Set(got).size).toBe(CAP);
      expect(b.stats().queues.queuedMessages).toBe(0);
    });
  }, 60_000);

  it('a flood from one sender pushes out its own messages: a contact request sent after it is kept', async () => {
    await withBroker(kind, async (b) => {
      const session = await offlineSession(b);
      const flooder = await rawClient(b.mqttUrl, generateIdentity());
      await Promise.all(Array.from({ length: SENT }, (_, i) => flooder.publishAsync(inboxTopic(session.me.userId, 'offer'), `flood${i}`, { qos: 1 })));
      await flooder.endAsync();
      const friend = await rawClient(b.mqttUrl, generateIdentity());
      await friend.publishAsync(inboxTopic(session.me.userId, 'contactRequest'), 'hello, it is me', { qos: 1 });
      await friend.endAsync();
      await settledDrops(b, SENT + 1 - CAP);
      const got = await session.comeBack();
      expect(got).toHaveLength(CAP);
      expect(got).toContain('hello, it is me');
    });
  }, 60_000);
});
