/** `parley server`: the embedded servers on loopback, one JSON ready line, clean stop on signals. */
import { startBroker } from '../server/broker';

export interface ServerCliOptions { mqtt: number; mqttWs: number; data?: string }

export async function runServer(opts: ServerCliOptions): Promise<void> {
  const broker = await startBroker({ tcpPort: opts.mqtt, wsPort: opts.mqttWs });
  process.stdout.write(`${JSON.stringify({ ready: true, mqtt: broker.mqttUrl, mqttWs: broker.wsUrl })}\n`);
  const stop = async (): Promise<void> => {
    await broker.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}
