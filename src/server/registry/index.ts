/** `parley server --registry PORT [--network ID]`: the registry REST server beside the broker. */
import type { ServerComponent } from '../server';

export type { RegistryServerHandle, RegistryServerOptions } from './registry-server';

export const registryComponent: ServerComponent = {
  name: 'registry',
  async start({ port, host, dataDir, tls, advertise, logger, metrics, config, iceServersFor }) {
    const databaseUrl = config.databaseUrl ?? process.env.DATABASE_URL;
    const databaseSchema = config.databaseSchema ?? process.env.PARLEY_DATABASE_SCHEMA;
    // Loaded on use: every `parley` command builds the CLI, and only this one needs fastify, Kysely and the drivers.
    const { startRegistryServer } = await import('./registry-server');
    const server = await startRegistryServer({
      port,
      host,
      ...(dataDir ? { dataDir: `${dataDir}/registry` } : {}),
      ...(databaseUrl ? { databaseUrl } : {}),
      ...(databaseSchema ? { databaseSchema } : {}),
      ...(config.network ? { networks: config.network } : {}),
      ...(tls ? { tls } : {}),
      onRefusal: (refusal) => logger.debug({ refusal }, 'registry refused'),
      ice: iceServersFor,
    });
    logger.info({ storage: server.storage }, 'registry storage');
    metrics.gauge({
      name: 'parley_registry_refused',
      help: 'Registry requests refused, by status and error',
      labelNames: ['status', 'error'],
      collect() {
        for (const [key, n] of Object.entries(server.stats().refused)) {
          const [status, error] = key.split(':') as [string, string];
          this.set({ status, error }, n);
        }
      },
    });
    metrics.gauge({
      name: 'parley_registry_served',
      help: 'Registry requests answered with a 2xx/3xx status',
      collect() {
        this.set(server.stats().served);
      },
    });
    return { url: advertise('http', server.port), close: () => server.close() };
  },
};
