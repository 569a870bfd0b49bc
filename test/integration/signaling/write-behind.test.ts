/**
 * On LevelDB, a connected session's QoS 1 message is delivered before its disk write finishes
 * (offline-queues.ts), and the writes still land in order: the acknowledgement clears the stored
 * copy, and a message delivered but not acknowledged before a disconnect is replayed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { makeLoginPassword, mqttClientId } from '../../../src/main/signaling/mqtt-login';
import { inboxFilter, inboxTopic } from '../../../src/main/signaling/topics';
import { startBroker, type BrokerHandle as Broker } from '../../../src/server/broker';
import { levelBackend } from '../../../src/server/broker/persistence';
import { generateIdentity, newDeviceId } from '../../../src/shared/identity';
import { eventually, rawClient, sleep } from './helpers';

interface Gate { open(): void; writesWaiting(): number }

/** A LevelDB broker whose queue writes and delivery updates wait until the gate opens. */
async function withGatedBroker(run: (b: Broker, gate: Gate) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-behind-'));
  const backend = await levelBackend(dir)();
  const disk = backend.persistence as unknown as Record<'outgoingEnqueueCombi' | 'outgoingUpdate', (...args: unknown[]) => Promise<unknown>>;
  let release!: () => void;
  const opened = new Promise<void>((r) => (release = r));
  let waiting = 0;
  for (const name of ['outgoingEnqueueCombi', 'outgoingUpdate'] as const) {
    const original = disk[name].bind(disk);
    disk[name] = async (...args: unknown[]) => {
      waiting++;
      await opened;
      waiting--;
      return original(...args);
    };
  }
  const b = await startBroker({ persistence: backend });
  try {
    await run(b, { open: release, writesWaiting: () => waiting });
  } finally {
    release();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('LevelDB broker: a connected session is not kept waiting for the disk', () => {
  it('delivers while the write is pending, then the acknowledgement clears the stored copy', async () => {
    await withGatedBroker(async (b, gate) => {
      const me = generateIdentity();
      const clientId = mqttClientId(me.userId, newDeviceId());
      const got: string[] = [];
      const login = (ts: number) => ({ clientId, clean: false, password: makeLoginPassword(me, clientId, nodeSigner, ts) });
      const online = await rawClient(b.mqttUrl, me, login(Date.now()), (_t, payload) => got.push(payload.toString()));
      await online.subscribeAsync(inboxFilter(me.userId), { qos: 1 });
      const sender = await rawClient(b.mqttUrl, generateIdentity());
      await sender.publishAsync(inboxTopic(me.userId, 'offer'), 'fresh offer', { qos: 1 });

      // Before: delivery waited for the gated enqueue and update, so nothing arrived here.
      await eventually(() => got.length, (n) => n === 1, 10_000, 'delivery with the disk write still pending');
      expect(gate.writesWaiting()).toBeGreaterThan(0);
      expect(b.stats().queues.queuedMessages).toBe(1);

      gate.open();
      // The PUBACK's clear ran after the write: nothing is left stored for this session.
      await eventually(() => b.stats().queues.queuedMessages, (n) => n === 0, 10_000, 'the acknowledged message to be cleared');
      await online.endAsync();
      const again: string[] = [];
      const back = await rawClient(b.mqttUrl, me, login(Date.now() + 1), (_t, payload) => again.push(payload.toString()));
      await sleep(500);
      await back.endAsync();
      expect(again).toEqual([]);
      await sender.endAsync();
    });
  }, 60_000);

  it('a message delivered but never acknowledged is replayed after the reconnect, once the write has landed', async () => {
    await withGatedBroker(async (b, gate) => {
      const me = generateIdentity();
      const clientId = mqttClientId(me.userId, newDeviceId());
      const login = (ts: number) => ({ clientId, clean: false, password: makeLoginPassword(me, clientId, nodeSigner, ts) });
      const got: string[] = [];
      // This client never acknowledges: its PUBACKs are swallowed, as when it dies on receipt.
      const online = await rawClient(b.mqttUrl, me, login(Date.now()), (_t, payload) => got.push(payload.toString()));
      await online.subscribeAsync(inboxFilter(me.userId), { qos: 1 });
      const stream = (online as unknown as { stream: { write(chunk: Buffer): boolean } }).stream;
      const write = stream.write.bind(stream);
      stream.write = (chunk: Buffer) => (chunk[0] === 0x40 ? true : write(chunk)); // 0x40: PUBACK
      const sender = await rawClient(b.mqttUrl, generateIdentity());
      await sender.publishAsync(inboxTopic(me.userId, 'offer'), 'unacknowledged', { qos: 1 });
      await eventually(() => got.length, (n) => n === 1, 10_000, 'first delivery');
      online.stream.destroy();
      await eventually(() => b.stats().connectedClients, (n) => n === 1, 10_000, 'the receiver to be gone');

      const replayed: string[] = [];
      const back = rawClient(b.mqttUrl, me, login(Date.now() + 1), (_t, payload) => replayed.push(payload.toString()));
      await sleep(200);
      gate.open(); // the replay waited for the write behind the first delivery
      const client = await back;
      await eventually(() => replayed, (r) => r.length === 1, 10_000, 'the replay');
      expect(replayed).toEqual(['unacknowledged']);
      await eventually(() => b.stats().queues.queuedMessages, (n) => n === 0, 10_000, 'the replayed message to be acknowledged');
      await client.endAsync();
      await sender.endAsync();
    });
  }, 60_000);
});
