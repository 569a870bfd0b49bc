/** The two MQTT brokers the chat tests run against: the machine's Mosquitto and embedded aedes. */
import { startBroker, type BrokerHandle } from '../../src/server/broker';

export const MOSQUITTO_URL = 'mqtt://127.0.0.1:1883';

export interface TestBroker { name: string; url: string; close(): Promise<void>; handle?: BrokerHandle }

export async function openBroker(kind: 'mosquitto' | 'embedded'): Promise<TestBroker> {
  if (kind === 'mosquitto') return { name: 'mosquitto', url: MOSQUITTO_URL, close: async () => {} };
  const handle = await startBroker({ tcpPort: 0, wsPort: 0, rateLimit: { burst: 2000, perSecond: 1000 } });
  return { name: 'embedded', url: handle.mqttUrl, handle, close: () => handle.close() };
}
