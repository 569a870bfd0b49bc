/** `parley server --signal PORT`: the WebSocket signal server beside the broker. */
import type { ServerComponent } from '../server';
import type { ServerMetrics } from '../ops/metrics';
import { SIGNAL_REFUSALS, startSignalServer, type SignalServerHandle } from './signal-server';

export { startSignalServer, SIGNAL_REFUSALS } from './signal-server';
export type { SignalServerHandle, SignalServerOptions, SignalServerStats, SignalRefusal, SignalRefusalEvent } from './signal-server';

export const signalComponent: ServerComponent = {
  name: 'signal',
  async start({ port, host, tls, advertise, logger, metrics }) {
    const server = await startSignalServer({
      port,
      host,
      ...(tls ? { tls } : {}),
      onRefusal: (event) => logger.debug({ refusal: event }, 'signal server refused'),
    });
    registerSignalMetrics(server, metrics);
    return { url: advertise('ws', server.port), close: () => server.close() };
  },
};

export function registerSignalMetrics(server: SignalServerHandle, metrics: ServerMetrics): void {
  metrics.gauge({
    name: 'parley_signal_connections',
    help: 'Open signal server sockets, and devices attached after AUTH',
    labelNames: ['kind'],
    collect() {
      const stats = server.stats();
      this.set({ kind: 'sockets' }, stats.connections);
      this.set({ kind: 'attached' }, stats.attached);
    },
  });
  metrics.gauge({
    name: 'parley_signal_forwarded',
    help: 'Frames the signal server forwarded',
    collect() {
      this.set(server.stats().forwarded);
    },
  });
  metrics.gauge({
    name: 'parley_signal_refused',
    help: 'Connections and frames the signal server refused, by reason',
    labelNames: ['reason'],
    collect() {
      const { refused } = server.stats();
      for (const reason of SIGNAL_REFUSALS) this.set({ reason }, refused[reason]);
    },
  });
}
