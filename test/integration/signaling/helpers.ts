/** Shared setup for the signaling integration tests: brokers, clients, raw MQTT, waiting. */
import { connect, connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { withTimeout } from '../../../src/shared/timeout';
import { makeLoginPassword, mqttClientId } from '../../../src/main/signaling/mqtt-login';
import { MqttSignaling, type MqttSignalingOptions, type SignalingMessageEvent } from '../../../src/main/signaling/mqtt-signaling';
import { presenceTopic } from '../../../src/main/signaling/topics';
import { startBroker, type BrokerHandle, type BrokerOptions } from '../../../src/server/broker';
import type { RejectCode } from '../../../src/shared/errors';
import { generateIdentity, newDeviceId, type Identity } from '../../../src/shared/identity';

export const MOSQUITTO_URL = 'mqtt://127.0.0.1:1883';
export type BrokerKind = 'mosquitto' | 'embedded';
export const BROKER_KINDS: BrokerKind[] = ['mosquitto', 'embedded'];

export interface Target {
  kind: BrokerKind;
  url: string;
  broker?: BrokerHandle;
  close(): Promise<void>;
}

export async function openTarget(kind: BrokerKind, options: BrokerOptions = {}): Promise<Target> {
  if (kind === 'mosquitto') return { kind, url: MOSQUITTO_URL, close: async () => {} };
  const broker = await startBroker(options);
  return { kind, url: broker.mqttUrl, broker, close: () => broker.close() };
}

export interface TestClient {
  sig: MqttSignaling;
  identity: Identity;
  deviceId: string;
  messages: SignalingMessageEvent[];
  rejected: Array<{ code: RejectCode; reason: string; topic: string }>;
  states: string[];
}

/** Creates (not starts) a client that records what it emits. Fast backoff unless overridden. */
export function newClient(url: string, overrides: Partial<MqttSignalingOptions> = {}): TestClient {
  const identity = overrides.identity ?? generateIdentity();
  const deviceId = overrides.deviceId ?? newDeviceId();
  const sig = new MqttSignaling({
    url,
    identity,
    deviceId,
    signer: nodeSigner,
    backoff: { baseMs: 100, capMs: 400 },
    ...overrides,
  });
  const client: TestClient = { sig, identity, deviceId, messages: [], rejected: [], states: [] };
  sig.on('message', (m) => client.messages.push(m));
  sig.on('rejected', (r) => client.rejected.push(r));
  sig.on('state', ({ state, attempt }) => client.states.push(`${state}:${attempt}`));
  return client;
}

export async function startClient(url: string, overrides: Partial<MqttSignalingOptions> = {}): Promise<TestClient> {
  const client = newClient(url, overrides);
  client.sig.start();
  await withTimeout(client.sig.whenConnected(), 20_000, 'client connect');
  return client;
}

/**
 * A plain MQTT client. With an identity it logs in the Parley way (needed on the embedded broker).
 * `onMessage` is attached before CONNACK: a persistent session's queued messages follow the
 * CONNACK in the same read, and a listener added after the connect resolves would miss the first.
 */
export async function rawClient(url: string, identity?: Identity, extra: IClientOptions = {}, onMessage?: (topic: string, payload: Buffer) => void): Promise<MqttClient> {
  let options: IClientOptions;
  if (!identity) {
    options = { clientId: `raw-${process.pid}-${Math.random().toString(16).slice(2)}`, reconnectPeriod: 0, ...extra };
  } else {
    const clientId = mqttClientId(identity.userId, newDeviceId());
    options = {
      clientId,
      username: identity.userId,
      password: makeLoginPassword(identity, clientId, nodeSigner, Date.now()),
      protocolVersion: 4,
      reconnectPeriod: 0,
      ...extra,
    };
  }
  if (!onMessage) return connectAsync(url, options);
  const client = connect(url, options);
  client.on('message', onMessage);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

/**
 * Mosquitto keeps persistent sessions and retained messages forever: wipe what a test created
 * (a clean-session login drops the session; an empty retained message deletes the retained status).
 */
export async function forgetOnBroker(url: string, clients: TestClient[]): Promise<void> {
  for (const { identity, deviceId } of clients) {
    const clientId = mqttClientId(identity.userId, deviceId);
    try {
      const raw = await connectAsync(url, {
        clientId,
        clean: true,
        username: identity.userId,
        password: makeLoginPassword(identity, clientId, nodeSigner, Date.now()),
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 5000,
      });
      await raw.publishAsync(presenceTopic(identity.userId), '', { qos: 1, retain: true });
      await raw.endAsync();
    } catch {
      // best effort cleanup
    }
  }
}

export async function eventually<T>(probe: () => T | Promise<T>, accept: (value: T) => boolean, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!accept(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)?.slice(0, 500)}`);
    await sleep(25);
    last = await probe();
  }
  return last;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

