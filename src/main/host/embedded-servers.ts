/**
 * Zero-setup default (DESIGN section 11): with no broker configured, the first Parley on this
 * machine hosts the embedded broker on a fixed loopback port and later instances use it.
 */
import { startBroker, type BrokerHandle } from '../../server/broker';

export const EMBEDDED_MQTT_PORT = 18883;
export const EMBEDDED_MQTT_WS_PORT = 18884;
export const EMBEDDED_BROKER_URL = `mqtt://127.0.0.1:${EMBEDDED_MQTT_PORT}`;

/** Starts the embedded broker unless another process already listens there (then returns null). */
export async function ensureEmbeddedBroker(): Promise<BrokerHandle | null> {
  try {
    return await startBroker({ tcpPort: EMBEDDED_MQTT_PORT, wsPort: EMBEDDED_MQTT_WS_PORT });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') return null;
    throw err;
  }
}
