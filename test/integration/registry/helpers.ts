/** Registry test setup: a server per dialect on its own storage, raw HTTP with a chosen source address. */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { dropPostgresSchema } from '../../../src/server/registry/db';
import { startRegistryServer, type RegistryServerHandle, type RegistryServerOptions } from '../../../src/server/registry/registry-server';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export type Dialect = 'sqlite' | 'postgres';
export const DIALECTS: Dialect[] = ['sqlite', 'postgres'];

/** Where one test's registry keeps its data: a fresh SQLite folder or a fresh PostgreSQL schema. */
export interface Storage {
  dialect: Dialect;
  options: Pick<RegistryServerOptions, 'dataDir' | 'databaseUrl' | 'databaseSchema'>;
  /** Environment for a `parley server --registry` child process on this storage. */
  env: Record<string, string>;
  dataDir: string | undefined;
  drop(): Promise<void>;
}

export function newStorage(dialect: Dialect): Storage {
  if (dialect === 'sqlite') {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-registry-test-'));
    return { dialect, options: { dataDir }, env: {}, dataDir, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const schema = `registry_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  return {
    dialect,
    options: { databaseUrl: TEST_DATABASE_URL, databaseSchema: schema },
    env: { DATABASE_URL: TEST_DATABASE_URL, PARLEY_DATABASE_SCHEMA: schema },
    dataDir: undefined,
    drop: () => dropPostgresSchema(TEST_DATABASE_URL, schema),
  };
}

export async function startOn(storage: Storage, extra: RegistryServerOptions = {}): Promise<RegistryServerHandle> {
  return startRegistryServer({ port: 0, ...storage.options, ...extra });
}

export interface RawResponse {
  status: number;
  body: unknown;
}

/** One HTTP request from `localAddress` (default 127.0.0.1), body sent as given (string) or as JSON. */
export function http(
  url: string,
  options: { method?: string; body?: unknown; headers?: Record<string, string>; localAddress?: string } = {},
): Promise<RawResponse> {
  const payload = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? (payload === undefined ? 'GET' : 'POST'),
        localAddress: options.localAddress ?? '127.0.0.1',
        headers: {
          ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}),
          ...options.headers,
        },
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            /* not JSON: keep the text */
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
