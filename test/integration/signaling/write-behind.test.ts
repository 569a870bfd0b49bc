/**
 * On LevelDB, a connected session's QoS 1 message is delivered without waiting for the disk, and
 * one acknowledged at once never touches it (held-writes.ts); one left unacknowledged is written
 * after the hold, replayed after a reconnect, and written when the broker closes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { makeLoginPassword, mqttClientId } from '../../../src/main/signaling/mqtt-login';
import { inboxFilter, inboxTopic } from '../../../src/main/signaling/topics';
import { startBroker, type BrokerHandle as Broker } from '../../../src/server/broker';
import { HOLD_MS } from '../../../src/server/broker/held-writes';
import { levelBackend } from '../../../src/server/broker/persistence';
import { generateIdentity, newDeviceId } from '../../../src/shared/identity';
import { eventually, rawClient, sleep } from './helpers';

interface Disk { open(): void; writesWaiting(): number; enqueues(): number }

/** A LevelDB broker on `dir` whose queue writes and delivery updates are counted, and wait while the gate is shut. */
async function gatedBroker(dir: string, shut: boolean, maxMessages?: number): Promise<{ b: Broker; disk: Disk }> {
  const backend = await levelBackend(dir)();
  const persistence = backend.persistence as unknown as Record<'outgoingEnqueueCombi' | 'outgoingUpdate', (...args: unknown[]) => Promise<unknown>>;
  let release!: () => void;
  const opened = shut ? new Promise<void>((r) => (release = r)) : Promise.resolve();
  let waiting = 0;
  let enqueues = 0;
  for (const name of ['outgoingEnqueueCombi', 'outgoingUpdate'] as const) {
    const original = persistence[name].bind(persistence);
    persistence[name] = async (...args: unknown[]) => {
      if (name === 'outgoingEnqueueCombi') enqueues++;
      waiting++;
      await opened;
      waiting--;
      return original(...args);
    };
  }
  const b = await startBroker({ persistence: backend, ...(maxMessages ? { limits: { queues: { maxMessages, maxBytes: 1024 * 1024, maxTotalBytes: 64 * 1024 * 1024 } } } : {}) });
  return { b, disk: { open: () => release?.(), writesWaiting: () => waiting, enqueues: () => enqueues } };
}

function session(b: Broker) {
  const me = generateIdentity();
  const clientId = mqttClientId(me.userId, newDeviceId());
  let logins = 0;
  return {
    me,
    /** Logs in (persistent session), subscribed to its inbox; `ackless` swallows its PUBACKs, as a client that dies on receipt. */
    async login(got: string[], ackless = false, url = b.mqttUrl) {
      const client = await rawClient(url, me, { clientId, clean: false, password: makeLoginPassword(me, clientId, nodeSigner, Date.now() + logins++) }, (_t, payload) => got.push(payload.toString()));
      await client.subscribeAsync(inboxFilter(me.userId), { qos: 1 });
      if (ackless) {
        const stream = (client as unknown as { stream: { write(chunk: Buffer): boolean } }).stream;
        const write = stream.write.bind(stream);
        stream.write = (chunk: Buffer) => (chunk[0] === 0x40 ? true : write(chunk)); // 0x40: PUBACK
      }
      return client;
    },
  };
}

async function send(b: Broker, to: string, text: string): Promise<void> {
  const sender = await rawClient(b.mqttUrl, generateIdentity());
  await sender.publishAsync(inboxTopic(to, 'offer'), text, { qos: 1 });
  await sender.endAsync();
}

describe('LevelDB broker: a connected session is not kept waiting for the disk', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-behind-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('delivers with the disk shut, and a message acknowledged at once is never written', async () => {
    const { b, disk } = await gatedBroker(tempDir(), true);
    try {
      const s = session(b);
      const got: string[] = [];
      const online = await s.login(got);
      await send(b, s.me.userId, 'fresh offer');
      // Before: delivery waited for the (shut) enqueue and update, so nothing arrived.
      await eventually(() => got.length, (n) => n === 1, 10_000, 'delivery with the disk shut');
      await eventually(() => b.stats().queues.queuedMessages, (n) => n === 0, 10_000, 'the acknowledgement to clear it');
      await sleep(HOLD_MS * 2);
      expect(disk.enqueues()).toBe(0);
      await online.endAsync();
      const again: string[] = [];
      const back = await s.login(again);
      await sleep(300);
      await back.endAsync();
      expect(again).toEqual([]);
    } finally {
      disk.open();
      await b.close();
    }
  }, 60_000);

  it('an unacknowledged message is written after the hold and replayed after the reconnect', async () => {
    const { b, disk } = await gatedBroker(tempDir(), true);
    try {
      const s = session(b);
      const got: string[] = [];
      const online = await s.login(got, true);
      await send(b, s.me.userId, 'unacknowledged');
      await eventually(() => got.length, (n) => n === 1, 10_000, 'first delivery');
      await eventually(() => disk.writesWaiting(), (n) => n > 0, 10_000, 'the held write to be attempted');
      (online as unknown as { stream: { destroy(): void } }).stream.destroy();
      await eventually(() => b.stats().connectedClients, (n) => n === 0, 10_000, 'the receiver to be gone');
      const replayed: string[] = [];
      const back = s.login(replayed);
      await sleep(200);
      disk.open(); // the replay waits for the write
      const client = await back;
      await eventually(() => replayed, (r) => r.length === 1, 10_000, 'the replay');
      expect(replayed).toEqual(['unacknowledged']);
      await eventually(() => b.stats().queues.queuedMessages, (n) => n === 0, 10_000, 'the replay to be acknowledged');
      await client.endAsync();
    } finally {
      disk.open();
      await b.close();
    }
  }, 60_000);

  it('a held, unacknowledged message is written when the broker closes, and delivered after its restart', async () => {
    const dir = tempDir();
    const first = await gatedBroker(dir, false);
    const s = session(first.b);
    const online = await s.login([], true);
    await send(first.b, s.me.userId, 'in flight at shutdown');
    await eventually(() => first.b.stats().queues.queuedMessages, (n) => n === 1, 10_000, 'the message to be queued');
    expect(first.disk.enqueues()).toBe(0); // still held
    online.end(true);
    await first.b.close();
    expect(first.disk.enqueues()).toBe(1);

    const second = await gatedBroker(dir, false);
    try {
      const got: string[] = [];
      const client = await s.login(got, false, second.b.mqttUrl);
      await eventually(() => got, (g) => g.length === 1, 10_000, 'delivery after the restart');
      expect(got).toEqual(['in flight at shutdown']);
      await client.endAsync();
    } finally {
      await second.b.close();
    }
  }, 60_000);
  it('a connected receiver that never acknowledges: the broker keeps (holds or writes) at most its queue cap, counts the rest, and serves others', async () => {
    const CAP = 5;
    const { b, disk } = await gatedBroker(tempDir(), false, CAP);
    try {
      const victim = session(b);
      const got: string[] = [];
      await victim.login(got, true);
      const flooder = await rawClient(b.mqttUrl, generateIdentity());
      await Promise.all(Array.from({ length: 40 }, (_, i) => flooder.publishAsync(inboxTopic(victim.me.userId, 'offer'), `flood${i}`, { qos: 1 })));
      await eventually(() => b.stats().refused.queueDrop, (n) => n >= 40 - CAP, 10_000, 'the refusals past the cap');
      expect(b.stats().queues.queuedMessages).toBe(CAP);
      // Live delivery goes on; what is kept for redelivery is capped.
      await eventually(() => got.length, (n) => n === 40, 10_000, 'live delivery');
      // Still held or written, never more than the cap.
      await sleep(HOLD_MS * 2);
      expect(disk.enqueues()).toBeLessThanOrEqual(CAP);
      expect(b.stats().queues.queuedMessages).toBe(CAP);
      // Someone else is still served at once.
      const other = session(b);
      const otherGot: string[] = [];
      const client = await other.login(otherGot);
      await send(b, other.me.userId, 'hello');
      await eventually(() => otherGot, (g) => g.length === 1, 10_000, 'the other user to be served');
      await client.endAsync();
      await flooder.endAsync();
    } finally {
      await b.close();
    }
  }, 60_000);
});
