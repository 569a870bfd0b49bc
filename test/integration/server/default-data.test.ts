/**
 * `parley server` with no --data keeps the broker on disk in the user's Parley data folder
 * (~/.parley/server, or PARLEY_SERVER_DATA_DIR), not in memory;
 * a second server on a folder already in use refuses with exit code 2 and says to pass --data.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runServer, startServerProcess, type ServerProcess } from '../../helpers/parley-server';

const home = mkdtempSync(join(tmpdir(), 'parley-home-'));
const running: ServerProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

async function metrics(ready: Record<string, string | boolean>): Promise<string> {
  return (await fetch(`${String(ready.admin)}/metrics`)).text();
}

describe('parley server default data folder', () => {
  it('with no --data, the broker is on LevelDB in ~/.parley/server (restart.test.ts shows LevelDB keeps queues across kill -9)', async () => {
    const env = { HOME: home, PARLEY_SERVER_DATA_DIR: '' };
    const first = await startServerProcess(['--admin', '0', '--log-level', 'warn'], env);
    running.push(first);
    expect(first.stderr()).not.toMatch(/kept in memory/);
    expect(existsSync(join(home, '.parley', 'server', 'broker', 'broker-leveldb'))).toBe(true);
    expect(await metrics(first.ready)).toMatch(/parley_broker_info\{backend="level"\} 1/);
  }, 120_000);

  it('PARLEY_SERVER_DATA_DIR moves it; a second server on the same folder exits 2 and says to pass --data', async () => {
    const data = join(home, 'elsewhere');
    const first = await startServerProcess(['--admin', '0', '--log-level', 'warn'], { PARLEY_SERVER_DATA_DIR: data });
    running.push(first);
    expect(existsSync(join(data, 'broker', 'broker-leveldb'))).toBe(true);

    const second = runServer(['--log-level', 'warn'], { PARLEY_SERVER_DATA_DIR: data });
    expect(await second.exited).toBe(2);
    expect(second.stderr()).toMatch(/in use by another running parley server.*pass --data DIR/);
    expect(second.stdout()).toBe('');

    // The first one is unharmed and a server with its own --data starts beside it.
    expect((await fetch(`${String(first.ready.admin)}/healthz`)).status).toBe(200);
    const own = await startServerProcess(['--data', join(home, 'own'), '--log-level', 'warn']);
    running.push(own);
    expect(own.ready.ready).toBe(true);
  }, 120_000);
});
