/**
 * An older profile's embedded mailbox (`~/.parley/embedded-mailbox`, from when the first app
 * instance ran the mailbox itself) is moved into the background server's folder once: a message
 * deposited there before the upgrade is served by `parley server --embedded` afterwards, the old
 * folder is gone, and a later start does not look again. A folder an old instance still serves
 * is left alone.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { MailboxClient } from '../../../src/server/mailbox/client';
import { MailboxNode } from '../../../src/server/mailbox/node';
import { legacyMailboxDir, MIGRATION_MARKER } from '../../../src/server/embedded/migrate-mailbox';
import { startServerProcess, type ServerProcess } from '../../helpers/parley-server';
import { freePort } from '../../helpers/ports';


/** A pid that is certainly not running any more. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

const servers: ServerProcess[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

/** What the old code did: a one-node mailbox 'm1' in the legacy folder, with its owner.pid. */
async function oldMailboxWith(dir: string, port: number, queue: string, data: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const node = new MailboxNode({ id: 'm1', host: '127.0.0.1', port, dataDir: dir, peers: [] });
  await node.start();
  const client = new MailboxClient({ seeds: [`127.0.0.1:${port}`], timeoutMs: 30_000 });
  try {
    await client.create(queue);
    await client.append(queue, data);
  } finally {
    client.close();
    await node.stop();
  }
  writeFileSync(join(dir, 'owner.pid'), String(deadPid()));
}

async function embeddedServer(data: string, port: number, legacy: string): Promise<ServerProcess> {
  const s = await startServerProcess(['--embedded', '--data', data, '--mailbox', String(port), '--log-level', 'info'], { PARLEY_EMBEDDED_MAILBOX_DIR: legacy });
  servers.push(s);
  return s;
}

async function readOnce(addr: string, queue: string): Promise<unknown> {
  const client = new MailboxClient({ seeds: [addr], timeoutMs: 30_000 });
  try {
    return await client.read(queue, 'device-1');
  } finally {
    client.close();
  }
}

describe('embedded mailbox data of an older Parley', () => {
  it('is moved into the server folder once, and what waited there is served', async () => {
    const legacy = join(mkdtempSync(join(tmpdir(), 'parley-old-profile-')), 'embedded-mailbox');
    const data = mkdtempSync(join(tmpdir(), 'parley-embedded-'));
    const port = await freePort();
    await oldMailboxWith(legacy, port, 'box:carol', 'sealed for carol, before the upgrade');

    const first = await embeddedServer(data, port, legacy);
    expect(first.ready.mailbox).toBe(`127.0.0.1:${port}`);
    expect(await readOnce(String(first.ready.mailbox), 'box:carol')).toEqual({ seq: 1, data: 'sealed for carol, before the upgrade' });
    expect(existsSync(legacy)).toBe(false);
    expect(existsSync(join(data, 'mailbox', 'owner.pid'))).toBe(false);
    expect(JSON.parse(readFileSync(join(data, MIGRATION_MARKER), 'utf8'))).toMatchObject({ outcome: 'moved', from: legacy });
    expect(first.stderr()).toMatch(/moved the embedded mailbox data of an older Parley/);
    expect(await first.stop()).toBe(0);
    servers.splice(0);

    // Something recreates the old folder later: it is not looked at again, and nothing is lost.
    mkdirSync(legacy, { recursive: true });
    writeFileSync(join(legacy, 'stray.sqlite'), 'not a mailbox');
    const second = await embeddedServer(data, port, legacy);
    expect(await readOnce(String(second.ready.mailbox), 'box:carol')).toEqual({ seq: 1, data: 'sealed for carol, before the upgrade' });
    expect(readFileSync(join(legacy, 'stray.sqlite'), 'utf8')).toBe('not a mailbox');
    expect(second.stderr()).not.toMatch(/moved the embedded mailbox/);
  }, 180_000);

  it('is left alone while an older instance still serves it (its owner.pid is alive)', async () => {
    const legacy = join(mkdtempSync(join(tmpdir(), 'parley-old-profile-')), 'embedded-mailbox');
    const data = mkdtempSync(join(tmpdir(), 'parley-embedded-'));
    await oldMailboxWith(legacy, await freePort(), 'box:dave', 'still served by the old instance');
    writeFileSync(join(legacy, 'owner.pid'), String(process.pid));
    const server = await embeddedServer(data, await freePort(), legacy);
    expect(existsSync(join(legacy, 'owner.pid'))).toBe(true);
    expect(existsSync(join(data, MIGRATION_MARKER))).toBe(false);
    expect(server.stderr()).toMatch(/an older Parley still serves the old embedded mailbox folder/);
  }, 180_000);

  it('is looked for in ~/.parley only beside the default data folder', () => {
    const env = { HOME: '/home/u' };
    expect(legacyMailboxDir('/home/u/.parley/embedded-server', env)).toBe('/home/u/.parley/embedded-mailbox');
    expect(legacyMailboxDir('/srv/elsewhere', env)).toBeNull();
    expect(legacyMailboxDir('/srv/elsewhere', { ...env, PARLEY_EMBEDDED_MAILBOX_DIR: '/old/box' })).toBe('/old/box');
  });
});
