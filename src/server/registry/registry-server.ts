/** Starts the registry: storage (SQLite or PostgreSQL), migrations, the fastify app, periodic purge. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Signer } from '../../shared/crypto';
import { nodeSigner } from '../../main/crypto/node-signer';
import { buildRegistryApp, type RegistryAppOptions, type RegistryAppStats, type RegistryLimits } from './app';
import { openRegistryDb, type RegistryDb } from './db';
import { DEFAULT_REGISTRY_CAPS, RegistryStore, type RegistryCaps } from './store';

export const DEFAULT_NETWORK = 'parley';

export interface RegistryServerOptions {
  port?: number;
  host?: string;
  /** SQLite file goes to `{dataDir}/registry.sqlite`; without dataDir (and no databaseUrl) a temp dir. */
  dataDir?: string;
  databaseUrl?: string;
  databaseSchema?: string;
  networks?: readonly string[];
  limits?: Partial<RegistryLimits>;
  caps?: Partial<RegistryCaps>;
  signer?: Signer;
  tls?: { cert: Buffer; key: Buffer };
  now?: () => number;
  purgeIntervalMs?: number;
  onRefusal?: RegistryAppOptions['onRefusal'];
  ice?: RegistryAppOptions['ice'];
}

export interface RegistryServerHandle {
  url: string;
  port: number;
  dialect: RegistryDb['dialect'];
  /** Where the data lives (no password). */
  storage: string;
  stats(): RegistryAppStats;
  close(): Promise<void>;
}

export async function startRegistryServer(options: RegistryServerOptions = {}): Promise<RegistryServerHandle> {
  const sqliteFile = options.databaseUrl
    ? undefined
    : join(options.dataDir ?? mkdtempSync(join(tmpdir(), 'parley-registry-')), 'registry.sqlite');
  const storage = await openRegistryDb({
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    ...(options.databaseSchema ? { schema: options.databaseSchema } : {}),
    ...(sqliteFile ? { sqliteFile } : {}),
  });
  const store = new RegistryStore(storage.db, { ...DEFAULT_REGISTRY_CAPS, ...options.caps });
  const now = options.now ?? Date.now;
  let built: Awaited<ReturnType<typeof buildRegistryApp>>;
  try {
    built = await buildRegistryApp({
      store,
      networks: new Set(options.networks ?? [DEFAULT_NETWORK]),
      signer: options.signer ?? nodeSigner,
      now,
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.tls ? { https: options.tls } : {}),
      ...(options.onRefusal ? { onRefusal: options.onRefusal } : {}),
      ...(options.ice ? { ice: options.ice } : {}),
    });
    await built.app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  } catch (err) {
    await storage.close();
    throw err;
  }
  const { app } = built;
  const purge = setInterval(() => void store.purgeExpired(now()).catch(() => undefined), options.purgeIntervalMs ?? 60_000);
  purge.unref();
  const port = (app.server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';
  let closing: Promise<void> | null = null;
  return {
    url: `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    dialect: storage.dialect,
    storage: storage.describe,
    stats: built.stats,
    close: () =>
      (closing ??= (async () => {
        clearInterval(purge);
        await app.close();
        await storage.close();
      })()),
  };
}
