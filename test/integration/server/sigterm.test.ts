/**
 * Graceful SIGTERM under load: publishers keep sending QoS 1 messages to an offline user while
 * `parley server` is told to stop. It exits 0, and after a restart on the same --data folder every
 * message the broker had acknowledged (PUBACK) is delivered to that user.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { afterEach, describe, expect, it } from 'vitest';
import { generateIdentity, newDeviceId } from '../../../src/shared/identity';
import { makeLoginPassword, mqttClientId } from '../../../src/main/signaling/mqtt-login';
import type { Identity } from '../../../src/shared/identity';
import { startServerProcess, type ServerProcess } from '../../helpers/parley-server';
import { eventually, rawClient, sleep } from '../signaling/helpers';

const servers: ServerProcess[] = [];

/** A persistent (clean: false) session for one device of `identity`. */
function sessionClient(url: string, identity: Identity, deviceId: string): Promise<MqttClient> {
  const clientId = mqttClientId(identity.userId, deviceId);
  return connectAsync(url, {
    clientId,
    clean: false,
    username: identity.userId,
    password: makeLoginPassword(identity, clientId, nodeSigner, Date.now()),
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

describe('parley server: SIGTERM under load', () => {
  it('exits 0 and loses no acknowledged message', async () => {
    const data = mkdtempSync(join(tmpdir(), 'parley-sigterm-'));
    const first = await startServerProcess(['--data', data, '--log-level', 'warn']);
    servers.push(first);
    const url = String(first.ready.mqtt);
    const ports = ['--mqtt', new URL(url).port, '--mqtt-ws', new URL(String(first.ready.mqttWs)).port];

    // B's persistent session, subscribed at QoS 1, then offline.
    const bob = generateIdentity();
    const bobDevice = newDeviceId();
    const bobFirst = await sessionClient(url, bob, bobDevice);
    await bobFirst.subscribeAsync(`user/${bob.userId}/#`, { qos: 1 });
    await bobFirst.endAsync();

    const acked = new Set<string>();
    let attempted = 0;
    const publishers: MqttClient[] = await Promise.all([1, 2, 3, 4].map(() => rawClient(url, generateIdentity())));
    let stop = false;
    const loops = publishers.map(async (client, p) => {
      for (let i = 0; !stop && i < 10_000; i++) {
        const id = `p${p}-${i}`;
        attempted++;
        try {
          await client.publishAsync(`user/${bob.userId}/contactRequest`, id, { qos: 1 });
          acked.add(id);
        } catch {
          return; // the connection went away with the server: unacknowledged, the sender's to retry
        }
        if (i % 20 === 19) await sleep(50); // stay under the per-client rate limit
      }
    });
    await eventually(() => acked.size, (n) => n >= 200, 60_000, '200 acknowledged publishes');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    stop = true;
    // mqtt.js leaves a publish pending when its connection closes: force the clients shut,
    // which fails what is still unacknowledged.
    for (const c of publishers) c.end(true);
    await Promise.all(loops);
    servers.splice(servers.indexOf(first), 1);
    expect(acked.size).toBeGreaterThanOrEqual(200);

    const second = await startServerProcess(['--data', data, ...ports, '--log-level', 'warn']);
    servers.push(second);
    const received = new Map<string, number>();
    const bobAgain = await sessionClient(url, bob, bobDevice);
    bobAgain.on('message', (_topic, payload) => {
      const id = payload.toString();
      received.set(id, (received.get(id) ?? 0) + 1);
    });
    await eventually(() => [...acked].filter((id) => !received.has(id)).length, (missing) => missing === 0, 90_000, 'every acknowledged message delivered after restart');
    await bobAgain.endAsync();
    expect([...acked].every((id) => received.has(id))).toBe(true);
    // Nothing was delivered that nobody sent.
    expect([...received.keys()].every((id) => /^p[0-3]-\d+$/.test(id))).toBe(true);
    expect(attempted).toBeGreaterThanOrEqual(acked.size);
  }, 240_000);
});
