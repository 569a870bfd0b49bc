/**
 * Where the broker keeps persistent sessions, offline queues, retained messages and wills, and
 * how broker processes share routing. One factory per backend, chosen by `parley server`:
 *
 * - memory: aedes' own (tests, throwaway servers);
 * - level:  LevelDB in `--data DIR` (the default): a restart keeps what waits for offline users;
 * - redis:  `--redis URL`: sessions in Redis and routing over Redis pub/sub (mqemitter-redis), so
 *   several broker processes act as one broker.
 *
 * The broker only sees `BrokerPersistence`; limits (caps on queues, sessions, subscriptions) live
 * in the broker's hooks and wrap whichever backend this returns.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Redis } from 'ioredis';
import { Level } from 'level';

const require = createRequire(import.meta.url);

/** The aedes persistence contract, as far as Parley relies on it (aedes itself is untyped here). */
export interface AedesPersistenceLike {
  setup(broker: unknown): Promise<void>;
  outgoingEnqueueCombi(subs: unknown[], packet: unknown): Promise<void>;
  outgoingClearMessageId(client: unknown, packet: unknown): Promise<unknown>;
}

export interface BrokerPersistence {
  kind: 'memory' | 'level' | 'redis';
  /** Passed to aedes as `persistence`; undefined = aedes' in-memory one. */
  persistence?: AedesPersistenceLike;
  /** Passed to aedes as `mq` (cross-process routing); undefined = aedes' in-process emitter. */
  mq?: unknown;
  /** Flushes and releases the backend; call after the broker has closed. */
  close(): Promise<void>;
}

export type PersistenceFactory = () => Promise<BrokerPersistence>;

export const memoryBackend: PersistenceFactory = async () => backend('memory', undefined, undefined, async () => undefined);

/** The LevelDB folder is held by another running process (LevelDB allows one at a time). */
export class DataFolderLockedError extends Error {
  readonly exitCode = 2;
}

/** LevelDB under `dir` (created if missing). One process at a time: LevelDB locks the folder. */
export function levelBackend(dir: string): PersistenceFactory {
  return async () => {
    mkdirSync(dir, { recursive: true });
    const db = new Level<string, Buffer>(join(dir, 'broker-leveldb'), { valueEncoding: 'buffer' });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new DataFolderLockedError(`the broker database in ${dir} is in use by another running parley server; stop that one, or pass --data DIR to give this one its own folder`);
      }
      throw new Error(`cannot open the broker database in ${dir} (${cause?.message ?? (err as Error).message})`);
    }
    const AsyncLevelPersistence = require('aedes-persistence-level/asyncPersistence.js') as new (db: unknown) => AedesPersistenceLike;
    return backend('level', new AsyncLevelPersistence(db), undefined, () => db.close());
  };
}

export interface RedisBackendOptions {
  url: string;
  /** Prefix for every key and pub/sub channel (default `parley:`). */
  prefix?: string;
}

/** Sessions in Redis and routing over its pub/sub: every broker process on the same Redis and prefix is one broker. */
export function redisBackend(options: RedisBackendOptions): PersistenceFactory {
  return async () => {
    const prefix = options.prefix ?? 'parley:';
    const connect = (): Redis => new Redis(options.url, { keyPrefix: prefix, lazyConnect: true, maxRetriesPerRequest: 3 });
    const db = connect();
    const pub = connect();
    const sub = connect();
    try {
      await Promise.all([db.connect(), pub.connect(), sub.connect()]);
    } catch (err) {
      for (const c of [db, pub, sub]) c.disconnect();
      throw new Error(`cannot reach Redis at ${redactUrl(options.url)}: ${(err as Error).message}`);
    }
    const AsyncRedisPersistence = require('aedes-persistence-redis/asyncPersistence.js') as new (opts: { conn: Redis }) => AedesPersistenceLike;
    const { MQEmitterRedisPrefix } = require('mqemitter-redis') as { MQEmitterRedisPrefix: new (prefix: string, opts: { pubConn: Redis; subConn: Redis }) => unknown };
    const mq = new MQEmitterRedisPrefix(prefix, { pubConn: pub, subConn: sub });
    // The emitter quits pub/sub itself when aedes closes it; the session connection is ours.
    return backend('redis', retainedAsStreams(new AsyncRedisPersistence({ conn: db })), mq, async () => {
      await db.quit().catch(() => db.disconnect());
    });
  };
}

function backend(kind: BrokerPersistence['kind'], persistence: AedesPersistenceLike | undefined, mq: unknown, close: () => Promise<void>): BrokerPersistence {
  let closing: Promise<void> | null = null;
  return { kind, ...(persistence ? { persistence } : {}), ...(mq ? { mq } : {}), close: () => (closing ??= close()) };
}

/**
 * aedes pipes the retained-message result (`.pipe`), while aedes-persistence-redis returns an
 * async generator there; Readable.from makes it the stream aedes expects.
 */
function retainedAsStreams(persistence: AedesPersistenceLike): AedesPersistenceLike {
  const p = persistence as AedesPersistenceLike & Record<'createRetainedStreamCombi' | 'createRetainedStream', (arg: unknown) => unknown>;
  for (const name of ['createRetainedStreamCombi', 'createRetainedStream'] as const) {
    const original = p[name].bind(p);
    p[name] = (arg) => {
      const result = original(arg);
      return result instanceof Readable ? result : Readable.from(result as AsyncIterable<unknown>);
    };
  }
  return persistence;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the given URL';
  }
}
