import { closeSync, existsSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHECKPOINT_TIMING, LATEST_VERSION, openStore, StoreError, WAL_AUTOCHECKPOINT_PAGES } from '../../../src/main/store';
import { migrate } from '../../../src/main/store/migrate';
import { MIGRATIONS, type Migration } from '../../../src/main/store/migrations';
import { columnsOf, makeTempDir, rawDb, schemaOf, sha256File, tablesOf, userVersion } from './helpers';

let tmp: ReturnType<typeof makeTempDir>;
beforeEach(() => { tmp = makeTempDir(); });
afterEach(() => tmp.cleanup());

function expectStoreError(fn: () => unknown, code: StoreError['code']): StoreError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe(code);
    return error as StoreError;
  }
  throw new Error(`expected StoreError ${code}, nothing was thrown`);
}

describe('fresh database', () => {
  it('reaches the latest schema version with WAL, NORMAL sync and foreign keys on', () => {
    const file = join(tmp.dir, 'fresh.db');
    const store = openStore(file);
    expect(store.schemaVersion).toBe(LATEST_VERSION);
    expect(LATEST_VERSION).toBe(MIGRATIONS.length);
    store.close();

    const db = rawDb(file);
    expect(userVersion(db)).toBe(LATEST_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(tablesOf(db)).toEqual(
      expect.arrayContaining(['settings', 'identity', 'contacts', 'messages', 'outbox', 'peer_routes', 'coordinators']),
    );
    db.close();
  });

  it('configures the connection: WAL, synchronous NORMAL, foreign keys, busy timeout', () => {
    const store = openStore(join(tmp.dir, 'pragmas.db'), { busyTimeoutMs: 1234 });
    expect(store.connectionInfo()).toEqual({ journalMode: 'wal', synchronous: 1, foreignKeys: true, busyTimeoutMs: 1234, walAutocheckpointPages: WAL_AUTOCHECKPOINT_PAGES });
    store.close();
  });

  it('checkpoints the WAL once writes pause, off the event loop (a worker thread: this one may be blocked meanwhile)', async () => {
    const file = join(tmp.dir, 'checkpoint.db');
    const store = openStore(file);
    try {
      const PAGE_FRAME = 4096 + 24;
      const walFrames = (): number => (statSync(`${file}-wal`).size - 32) / PAGE_FRAME;
      const peer = 'b'.repeat(64);
      let n = 0;
      const write = (count: number): void => {
        for (let i = 0; i < count; i++, n++) {
          const id = n.toString(16).padStart(32, '0');
          store.transaction(() => store.saveOutgoing({ id, peer, sender: 'a'.repeat(64), recipient: peer, text: 'x'.repeat(100), ts: n }, 'e'.repeat(120), 0));
          store.markDelivered([id]);
        }
      };
      write(20);
      // The first tick starts the checkpointer; from then on it needs nothing from this thread.
      await new Promise((r) => setTimeout(r, CHECKPOINT_TIMING.tickMs + CHECKPOINT_TIMING.quietMs * 2));
      write(150);
      const blocked = new Int32Array(new SharedArrayBuffer(4));
      let reused = false;
      // This thread stays blocked (no timer of its own can run) except for the writes.
      for (let round = 0; round < 20 && !reused; round++) {
        Atomics.wait(blocked, 0, 0, CHECKPOINT_TIMING.quietMs * 4);
        const before = walFrames();
        write(10);
        // Checkpointed meanwhile: the next commits reuse the WAL from its start instead of growing it.
        reused = walFrames() === before;
      }
      expect(reused).toBe(true);
    } finally {
      store.close();
    }
  }, 60_000);

  it('defers a checkpoint while writes go on, but not past maxDeferMs', async () => {
    const file = join(tmp.dir, 'deferred.db');
    const timing = { tickMs: 20, quietMs: 1_000, maxDeferMs: 3_000 };
    const store = openStore(file, { checkpoints: timing });
    // The WAL header's checkpoint sequence number (bytes 12-15) goes up each time a writer starts
    // the WAL over, which it does only after a checkpoint copied all of it back.
    const walSequence = (): number => {
      const fd = openSync(`${file}-wal`, 'r');
      try {
        const header = Buffer.alloc(16);
        readSync(fd, header, 0, 16, 0);
        return header.readUInt32BE(12);
      } finally {
        closeSync(fd);
      }
    };
    let n = 0;
    const writeOne = (): void => {
      store.setSetting(`k${n % 50}`, { n });
      n++;
    };
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      writeOne();
      await sleep(timing.tickMs + timing.quietMs * 1.5);
      writeOne(); // starts the WAL over: the quiet second was checkpointed
      const quietSequence = walSequence();
      const started = Date.now();
      const sequences: Array<[number, number]> = [];
      while (Date.now() - started < timing.maxDeferMs * 2.5) {
        writeOne();
        sequences.push([Date.now() - started, walSequence()]);
        await sleep(50);
      }
      // Writes every 50 ms are never quiet for a second: nothing is checkpointed in the first half
      // of maxDeferMs, and something is by the end.
      expect(sequences.filter(([at]) => at < timing.maxDeferMs / 2).every(([, seq]) => seq === quietSequence)).toBe(true);
      expect(sequences.at(-1)![1]).toBeGreaterThan(quietSequence);
    } finally {
      store.close();
    }
  }, 60_000);

  it('reopening an up-to-date database applies nothing and keeps data', () => {
    const file = join(tmp.dir, 'reopen.db');
    const a = openStore(file);
    a.setSetting('k', { v: 1 });
    a.close();
    const b = openStore(file);
    expect(b.schemaVersion).toBe(LATEST_VERSION);
    expect(b.getSetting('k')).toEqual({ v: 1 });
    b.close();
  });

  it('two connections opening the same new file both end up on the latest version', () => {
    const file = join(tmp.dir, 'twice.db');
    const a = openStore(file);
    const b = openStore(file);
    a.setSetting('from', 'a');
    expect(b.getSetting('from')).toBe('a');
    expect(b.schemaVersion).toBe(LATEST_VERSION);
    a.close();
    b.close();
  });
});

describe('migrations step by step', () => {
  /** One entry per migration: apply up to N-1, write rows, apply N, check data and shape. */
  const perMigration: Record<number, (db: Database.Database) => void> = {
    1: (db) => {
      migrate(db, { upTo: 0 });
      expect(userVersion(db)).toBe(0);
      expect(tablesOf(db)).toEqual([]);
      migrate(db, { upTo: 1 });
      expect(userVersion(db)).toBe(1);
      expect(tablesOf(db)).toEqual(['contacts', 'coordinators', 'identity', 'messages', 'outbox', 'peer_routes', 'settings']);
      expect(columnsOf(db, 'messages')).toEqual(['id', 'peer', 'sender', 'recipient', 'text', 'ts', 'status', 'received_at', 'seq']);
      expect(columnsOf(db, 'outbox')).toEqual([
        'order_seq', 'msg_id', 'peer', 'envelope', 'attempts', 'next_attempt_at', 'last_error', 'created_at',
      ]);
      expect(columnsOf(db, 'peer_routes')).toEqual(['user_id', 'path', 'signal_addr', 'via', 'last_ok', 'last_fail', 'fail_count']);
      // The CHECKs mirror the TypeScript unions.
      expect(() => db.prepare(
        "INSERT INTO messages (id, peer, sender, recipient, text, ts, status, seq) VALUES ('m', 'p', 's', 'r', 't', 1, 'bogus', 1)",
      ).run()).toThrow(/CHECK/);
      expect(() => db.prepare("INSERT INTO identity (id, user_id, device_id, display_name, created_at) VALUES (2, 'u', 'd', 'n', 1)").run())
        .toThrow(/CHECK/);
      // STRICT: a text timestamp is rejected rather than stored.
      expect(() => db.prepare(
        "INSERT INTO messages (id, peer, sender, recipient, text, ts, status, seq) VALUES ('m', 'p', 's', 'r', 't', 'noon', 'sent', 1)",
      ).run()).toThrow(/cannot store TEXT value in INTEGER column/);
    },
    2: (db) => {
      migrate(db, { upTo: 1 });
      const insert = db.prepare(
        'INSERT INTO messages (id, peer, sender, recipient, text, ts, status, received_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      insert.run('m1', 'bob', 'alice', 'bob', 'hello', 1000, 'delivered', null, 1);
      insert.run('m2', 'bob', 'bob', 'alice', 'hi back', 2000, 'read', 2100, 2);
      db.prepare("INSERT INTO outbox (msg_id, peer, envelope, next_attempt_at, created_at) VALUES ('m1', 'bob', '{}', 5, 5)").run();
      const before = db.prepare('SELECT * FROM messages ORDER BY seq').all();

      migrate(db, { upTo: 2 });
      expect(userVersion(db)).toBe(2);
      expect(columnsOf(db, 'messages')).toContain('reply_to');
      const after = db.prepare('SELECT * FROM messages ORDER BY seq').all() as Record<string, unknown>[];
      expect(after.map(({ reply_to, ...rest }) => rest)).toEqual(before);
      expect(after.map((r) => r.reply_to)).toEqual([null, null]);
      expect(db.prepare('SELECT msg_id FROM outbox').pluck().all()).toEqual(['m1']);
    },
    3: (db) => {
      migrate(db, { upTo: 2 });
      db.prepare("INSERT INTO messages (id, peer, sender, recipient, text, ts, status, seq) VALUES ('m1', 'bob', 'alice', 'bob', 'hi', 1, 'sent', 1)").run();
      const before = db.prepare('SELECT * FROM messages').all();
      migrate(db, { upTo: 3 });
      expect(userVersion(db)).toBe(3);
      expect(db.prepare('SELECT * FROM messages').all()).toEqual(before);
      expect(columnsOf(db, 'file_transfers')).toEqual([
        'id', 'peer', 'direction', 'name', 'mime', 'size', 'sha256', 'chunk_size', 'chunks_sha256', 'chunk_hashes', 'state',
        'verified', 'bytes', 'source_path', 'source_mtime', 'path', 'reason', 'created_at', 'updated_at',
      ]);
      const insert = (state: string, direction = 'in') => db.prepare(
        `INSERT INTO file_transfers (id, peer, direction, name, size, sha256, chunk_size, chunks_sha256, state, created_at, updated_at)
         VALUES ('f', 'bob', ?, 'a.txt', 1, 'x', 65536, 'y', ?, 1, 1)`,
      ).run(direction, state);
      expect(() => insert('bogus')).toThrow(/CHECK/);
      expect(() => insert('offered', 'sideways')).toThrow(/CHECK/);
      insert('offered');
      expect(db.prepare('SELECT state FROM file_transfers').pluck().all()).toEqual(['offered']);
    },
    4: (db) => {
      migrate(db, { upTo: 3 });
      const insert = db.prepare(
        'INSERT INTO messages (id, peer, sender, recipient, text, ts, status, received_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      insert.run('m1', 'bob', 'alice', 'bob', 'hello', 1000, 'sent', null, 1);
      insert.run('m2', 'bob', 'bob', 'alice', 'hi back', 2000, 'read', 2100, 2);
      db.prepare("INSERT INTO outbox (msg_id, peer, envelope, next_attempt_at, created_at) VALUES ('m1', 'bob', '{}', 5, 5)").run();
      expect(() => db.prepare("UPDATE messages SET status = 'stored' WHERE id = 'm1'").run()).toThrow(/CHECK/);
      const before = db.prepare('SELECT * FROM messages ORDER BY seq').all();
      migrate(db, { upTo: 4 });
      expect(userVersion(db)).toBe(4);
      expect(db.prepare('SELECT * FROM messages ORDER BY seq').all()).toEqual(before);
      // the outbox row (ON DELETE CASCADE from messages) survived: the table was not rebuilt
      expect(db.prepare('SELECT msg_id FROM outbox').pluck().all()).toEqual(['m1']);
      db.prepare("UPDATE messages SET status = 'stored' WHERE id = 'm1'").run();
      expect(() => db.prepare("UPDATE messages SET status = 'bogus' WHERE id = 'm1'").run()).toThrow(/CHECK/);
    },
    5: (db) => {
      migrate(db, { upTo: 4 });
      db.prepare("INSERT INTO messages (id, peer, sender, recipient, text, ts, status, seq) VALUES ('m1', 'bob', 'alice', 'bob', 'hi', 1, 'stored', 1)").run();
      db.prepare("INSERT INTO outbox (msg_id, peer, envelope, next_attempt_at, created_at) VALUES ('m1', 'bob', '{}', 5, 5)").run();
      const before = db.prepare('SELECT * FROM messages').all();
      migrate(db, { upTo: 5 });
      expect(userVersion(db)).toBe(5);
      expect(db.prepare('SELECT * FROM messages').all()).toEqual(before);
      expect(db.prepare('SELECT msg_id FROM outbox').pluck().all()).toEqual(['m1']);
      expect(columnsOf(db, 'held_messages')).toEqual(['seq', 'msg_id', 'depositor', 'recipient', 'sealed', 'bytes', 'expires_at', 'received_at']);
      const insert = db.prepare('INSERT INTO held_messages (msg_id, depositor, recipient, sealed, bytes, expires_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
      insert.run('x', 'alice', 'carol', 'c2VhbGVk', 8, 10, 1);
      // one copy per (recipient, msg_id), whoever deposits it
      expect(() => insert.run('x', 'mallory', 'carol', 'b3RoZXI=', 8, 10, 1)).toThrow(/UNIQUE/);
      insert.run('x', 'alice', 'dave', 'c2VhbGVk', 8, 10, 1);
      expect(() => insert.run('y', 'alice', 'carol', 's', 0, 10, 1)).toThrow(/CHECK/);
      expect(() => insert.run('z', 'alice', 'carol', 's', 1, 'tomorrow', 1)).toThrow(/cannot store TEXT value in INTEGER column/);
      expect(db.prepare('SELECT recipient FROM held_messages ORDER BY seq').pluck().all()).toEqual(['carol', 'dave']);
    },
    6: (db) => {
      migrate(db, { upTo: 5 });
      db.prepare(`INSERT INTO file_transfers (id, peer, direction, name, size, sha256, chunk_size, chunks_sha256, state, created_at, updated_at)
        VALUES ('f1', 'bob', 'in', 'a.png', 3, 'h', 65536, 'c', 'offered', 1, 1)`).run();
      const before = db.prepare('SELECT * FROM file_transfers').get() as Record<string, unknown>;
      migrate(db, { upTo: 6 });
      expect(userVersion(db)).toBe(6);
      expect(db.prepare('SELECT * FROM file_transfers').get()).toEqual({ ...before, thumb: null });
      db.prepare("UPDATE file_transfers SET thumb = x'89504e47' WHERE id = 'f1'").run();
      expect(db.prepare('SELECT thumb FROM file_transfers').pluck().get()).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    },
    7: (db) => {
      migrate(db, { upTo: 6 });
      db.prepare("INSERT INTO contacts (user_id, name, state, presence, created_at, updated_at) VALUES ('bob', 'Bob', 'accepted', 'offline', 1, 1)").run();
      db.prepare("INSERT INTO messages (id, peer, sender, recipient, text, ts, status, seq) VALUES ('m1', 'bob', 'alice', 'bob', 'hi', 1, 'sent', 1)").run();
      const before = { contacts: db.prepare('SELECT * FROM contacts').all(), messages: db.prepare('SELECT * FROM messages').all() };
      migrate(db, { upTo: 7 });
      expect(userVersion(db)).toBe(7);
      expect({ contacts: db.prepare('SELECT * FROM contacts').all(), messages: db.prepare('SELECT * FROM messages').all() }).toEqual(before);
      expect(columnsOf(db, 'contact_keys')).toEqual(['self_user_id', 'peer_user_id', 'wrapping', 'shared_key', 'created_at']);
      const insert = db.prepare('INSERT INTO contact_keys (self_user_id, peer_user_id, wrapping, shared_key, created_at) VALUES (?, ?, ?, ?, ?)');
      insert.run('alice', 'bob', 'none', Buffer.alloc(32, 7), 1);
      // one key per (identity, contact); another identity in the same profile keeps its own
      expect(() => insert.run('alice', 'bob', 'none', Buffer.alloc(32, 8), 2)).toThrow(/UNIQUE|PRIMARY/);
      insert.run('carol', 'bob', 'none', Buffer.alloc(32, 9), 1);
      expect(() => insert.run('alice', 'dave', 'none', Buffer.alloc(8), 1)).toThrow(/CHECK/);
      expect(() => insert.run('alice', 'erin', 'none', Buffer.alloc(32), 'yesterday')).toThrow(/cannot store TEXT value in INTEGER column/);
      expect(db.prepare("SELECT shared_key FROM contact_keys WHERE self_user_id = 'alice'").pluck().all()).toEqual([Buffer.alloc(32, 7)]);
    },
  };

  it('has a step-by-step test for every migration', () => {
    expect(Object.keys(perMigration).map(Number)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  for (const m of MIGRATIONS) {
    it(`migration ${m.version}-${m.name} preserves data and produces its shape`, () => {
      const db = new Database(':memory:');
      db.pragma('foreign_keys = ON');
      const test = perMigration[m.version];
      if (!test) throw new Error(`no test for migration ${m.version}`);
      test(db);
      expect(db.pragma('foreign_key_check')).toEqual([]);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.close();
    });
  }

  it('one step at a time ends at exactly the schema of all at once', () => {
    const stepwise = new Database(':memory:');
    for (let v = 1; v <= LATEST_VERSION; v++) migrate(stepwise, { upTo: v });
    const atOnce = new Database(':memory:');
    migrate(atOnce);
    expect(schemaOf(stepwise)).toEqual(schemaOf(atOnce));
    expect(userVersion(stepwise)).toBe(userVersion(atOnce));
    stepwise.close();
    atOnce.close();
  });

  it('an old file is brought up to date by openStore and its rows stay readable', () => {
    const file = join(tmp.dir, 'v1.db');
    const db = rawDb(file);
    migrate(db, { upTo: 1 });
    db.prepare(
      "INSERT INTO messages (id, peer, sender, recipient, text, ts, status, seq) VALUES ('old', 'bob', 'alice', 'bob', 'from v1', 10, 'sent', 1)",
    ).run();
    db.close();

    const store = openStore(file);
    expect(store.schemaVersion).toBe(LATEST_VERSION);
    expect(store.getMessage('old')).toMatchObject({ text: 'from v1', status: 'sent', replyTo: null, seq: 1 });
    store.insertMessage({ id: 'new', peer: 'bob', sender: 'bob', recipient: 'alice', text: 'x', ts: 11, status: 'delivered' });
    expect(store.getMessage('new')?.seq).toBe(2);
    store.close();
  });

  it('pending migrations run in one transaction: a failure leaves the database at its old version', () => {
    const db = new Database(':memory:');
    const broken: Migration = { version: 2, name: 'broken', up: (d) => d.exec('ALTER TABLE no_such_table ADD COLUMN x TEXT') };
    const first = MIGRATIONS[0];
    if (!first) throw new Error('no migrations');
    const error = expectStoreError(() => migrate(db, { migrations: [first, broken] }), 'MIGRATION_FAILED');
    expect(error.message).toMatch(/migration 2-broken failed/);
    expect(userVersion(db)).toBe(0);
    expect(tablesOf(db)).toEqual([]); // migration 1's tables were rolled back too
    db.close();
  });

  it('rejects a migration list with gaps', () => {
    const db = new Database(':memory:');
    const first = MIGRATIONS[0];
    if (!first) throw new Error('no migrations');
    expect(() => migrate(db, { migrations: [{ ...first, version: 2 }] })).toThrow(/expected 1/);
    db.close();
  });
});

describe('database from the future', () => {
  function makeFutureDb(file: string, journalMode: 'wal' | 'delete'): void {
    const db = rawDb(file);
    db.pragma(`journal_mode = ${journalMode}`);
    migrate(db);
    db.prepare("INSERT INTO settings (key, value) VALUES ('theme', '\"dark\"')").run();
    db.pragma(`user_version = ${LATEST_VERSION + 1}`);
    db.close();
  }

  for (const journalMode of ['wal', 'delete'] as const) {
    it(`is refused with DB_FROM_FUTURE and left byte-for-byte untouched (${journalMode} journal)`, () => {
      const file = join(tmp.dir, `future-${journalMode}.db`);
      makeFutureDb(file, journalMode);
      const hashBefore = sha256File(file);

      const error = expectStoreError(() => openStore(file), 'DB_FROM_FUTURE');
      expect(error.message).toContain(file);
      expect(error.message).toMatch(/newer version of Parley/);
      expect(error.message).toMatch(/Upgrade Parley/);
      expect(error.message).toMatch(/different profile/);
      expect(error.message).toContain(`schema version ${LATEST_VERSION + 1}`);

      expect(sha256File(file)).toBe(hashBefore);
      const db = rawDb(file);
      expect(userVersion(db)).toBe(LATEST_VERSION + 1);
      expect(db.pragma('journal_mode', { simple: true })).toBe(journalMode);
      db.close();
    });
  }

  it('is also refused when a newer version raced us between open and migrate', () => {
    const db = new Database(':memory:');
    db.pragma(`user_version = ${LATEST_VERSION + 5}`);
    expectStoreError(() => migrate(db), 'DB_FROM_FUTURE');
    expect(userVersion(db)).toBe(LATEST_VERSION + 5);
    db.close();
  });
});

describe('not a database', () => {
  it('is refused with NOT_A_DATABASE and not overwritten', () => {
    const file = join(tmp.dir, 'notes.txt');
    writeFileSync(file, 'these are my notes, not a database\n'.repeat(200));
    const hashBefore = sha256File(file);
    expectStoreError(() => openStore(file), 'NOT_A_DATABASE');
    expect(sha256File(file)).toBe(hashBefore);
    expect(existsSync(`${file}-wal`)).toBe(false);
  });
});

describe('damaged rows', () => {
  it('a value outside the known set is reported as CORRUPT, not passed on as a bogus status', () => {
    const file = join(tmp.dir, 'damaged.db');
    openStore(file).close();
    const db = rawDb(file);
    db.pragma('ignore_check_constraints = ON');
    db.prepare(
      "INSERT INTO messages (id, peer, sender, recipient, text, ts, status, seq) VALUES ('m', 'p', 's', 'p', 't', 1, 'teleported', 1)",
    ).run();
    db.close();
    const store = openStore(file);
    const error = expectStoreError(() => store.getMessage('m'), 'CORRUPT');
    expect(error.message).toMatch(/messages\.status.*teleported/);
    store.close();
  });
});
