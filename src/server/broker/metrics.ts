/** The broker's share of /metrics: connections, messages routed, refusals by reason, queue depth. */
import type { ServerMetrics } from '../ops/metrics';
import type { BrokerHandle } from './broker';

export function registerBrokerMetrics(broker: BrokerHandle, metrics: ServerMetrics, backend: string): void {
  metrics.gauge({ name: 'parley_broker_info', help: 'Broker backend in use (label backend)', labelNames: ['backend'] }).set({ backend }, 1);
  metrics.gauge({
    name: 'parley_broker_connections',
    help: 'MQTT clients connected to this broker process',
    collect() {
      this.set(broker.aedes.connectedClients);
    },
  });
  metrics.gauge({
    name: 'parley_broker_pending_deliveries',
    help: 'QoS 1 deliveries stored and not yet acknowledged, counted since this process started',
    collect() {
      this.set(broker.pendingDeliveries());
    },
  });
  // The caps of issue 10 (sessions, subscriptions, offline queues), read at scrape time.
  const capped: Array<[string, string, (stats: ReturnType<BrokerHandle['stats']>) => number]> = [
    ['parley_broker_sessions', 'Sessions the broker tracks (persistent ones until they expire)', (st) => st.sessions],
    ['parley_broker_subscriptions', 'Subscriptions held across sessions', (st) => st.subscriptions],
    ['parley_broker_queued_messages', 'Messages kept for persistent sessions (capped per session and in total)', (st) => st.queues.queuedMessages],
    ['parley_broker_queued_bytes', 'Bytes kept for persistent sessions (capped per session and in total)', (st) => st.queues.queuedBytes],
    ['parley_broker_expired_sessions', 'Idle persistent sessions deleted since start', (st) => st.expiredSessions],
  ];
  for (const [name, help, read] of capped) {
    metrics.gauge({
      name,
      help,
      collect() {
        this.set(read(broker.stats()));
      },
    });
  }
  const logins = metrics.counter({ name: 'parley_broker_logins_total', help: 'Accepted MQTT logins' });
  const routed = metrics.counter({ name: 'parley_broker_messages_routed_total', help: 'Client messages accepted for routing (excludes $SYS)' });
  broker.aedes.on('clientReady', () => logins.inc());
  broker.aedes.on('publish', (packet, client) => {
    if (client && !packet.topic.startsWith('$SYS')) routed.inc();
  });
  // Read from the broker's own tally at scrape time, so refusals made in any hook (caps, rate
  // limits, added later) appear without each hook knowing about metrics.
  metrics.counter({
    name: 'parley_broker_refusals_total',
    help: 'Refused logins, subscriptions and publishes, by reason',
    labelNames: ['kind'],
    collect() {
      this.reset();
      for (const [kind, n] of Object.entries(broker.stats().refused)) this.inc({ kind }, n);
    },
  });
}
