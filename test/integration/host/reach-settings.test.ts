/**
 * Signal server, registry and network id settings through settings.update against a real
 * `parley server --signal`: the signal server list applies at once (attached, announced as ours,
 * reported in network events), a removed one stops being ours, and everything survives a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type HostApi } from '../../../src/main/host/host';
import { registryClientFactory, wsClientFactory } from '../../../src/main/host/reach-clients';
import { parseApiCall, type NetworkStatus } from '../../../src/shared/api';
import { startServerProcess, type ServerProcess } from '../../helpers/parley-server';

let server: ServerProcess;
const dirs: string[] = [];
const hosts: HostApi[] = [];

beforeAll(async () => {
  server = await startServerProcess(['--mqtt', '0', '--signal', '0', '--registry', '0', '--network', 'parley,team-1']);
}, 90_000);

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.close()));
  await server?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const open = (profileDir: string) => startHost({ profileDir, brokerUrl: 'none', wsClientFactory, registryClientFactory }).then((h) => (hosts.push(h), h));

describe('reach settings', () => {
  it('attaches a signal server the moment it is saved, drops it when removed, and keeps the settings over a restart', { timeout: 180_000 }, async () => {
    const signal = String(server.ready.signal);
    const registry = String(server.ready.registry);
    expect(signal).toMatch(/^ws:\/\//);
    const profile = mkdtempSync(join(tmpdir(), 'parley-reach-'));
    dirs.push(profile);
    const host = await open(profile);
    const seen: NetworkStatus[] = [];
    host.on('network', (n) => seen.push(n));
    expect((await host.handle('network.status', {})).signalServers).toEqual([]);

    // What the UI sends is what the host accepts (same schema at the boundary).
    const args = parseApiCall('settings.update', { signalUrls: [signal], registryUrl: registry, networkId: 'team-1', discoverable: false });
    expect(args.ok).toBe(true);
    const saved = await host.handle('settings.update', { signalUrls: [signal], registryUrl: registry, networkId: 'team-1', discoverable: false });
    expect(saved).toMatchObject({ signalUrls: [signal], registryUrl: registry, networkId: 'team-1', discoverable: false });
    await until(async () => (await host.handle('network.status', {})).signalServers.some((s) => s.url === signal && s.home && s.state === 'connected'), 'the signal server attached');
    const status = await host.handle('network.status', {});
    expect(status.signalAddrs).toEqual([expect.stringContaining(`${signal.replace(/\/$/, '')}/`)]);
    expect(seen.some((n) => n.signalServers.some((s) => s.url === signal && s.state === 'connected'))).toBe(true);
    // The registry and network id apply at once too: the new link announces there (network team-1).
    await until(async () => (await host.handle('network.status', {})).registry?.lastAnnounceOk != null, 'an announce to the new registry');
    expect((await host.handle('network.status', {})).registry).toMatchObject({ url: registry, networkId: 'team-1', lastError: null });
    expect(seen.some((n) => n.registry?.networkId === 'team-1' && n.registry.lastAnnounceOk !== null)).toBe(true);
    // A network the registry does not serve: the announce fails, the panel hears of it with the reason.
    await host.handle('settings.update', { networkId: 'no-such-net' });
    await until(() => seen.some((n) => n.registry?.networkId === 'no-such-net' && n.registry.lastError !== null), 'the failed announce reported');
    await host.handle('settings.update', { networkId: 'team-1' });
    await until(() => seen.at(-1)?.registry?.networkId === 'team-1' && seen.at(-1)?.registry?.lastError === null, 'back on team-1');

    // Bad values are refused at the boundary with a reason, and nothing changes.
    const bad = parseApiCall('settings.update', { signalUrls: ['http://x'], networkId: 'has space' });
    expect(bad).toMatchObject({ ok: false, code: 'BAD_ARGS' });
    expect(bad.ok ? '' : bad.message).toMatch(/signalUrls.0: must be a signal server URL.*networkId/);

    await host.handle('settings.update', { signalUrls: [] });
    await until(async () => (await host.handle('network.status', {})).signalAddrs.length === 0, 'the removed server no longer ours');
    expect((await host.handle('network.status', {})).signalServers.filter((s) => s.home)).toEqual([]);

    await host.handle('settings.update', { signalUrls: [signal] });
    await host.close();
    hosts.splice(hosts.indexOf(host), 1);

    const again = await open(profile);
    expect(await again.handle('settings.get', {})).toMatchObject({ signalUrls: [signal], registryUrl: registry, networkId: 'team-1', discoverable: false });
    await until(async () => (await again.handle('network.status', {})).signalServers.some((s) => s.url === signal && s.home && s.state === 'connected'), 'attached after restart');
    expect((await again.handle('network.status', {})).registry).toMatchObject({ url: registry, networkId: 'team-1' });
  });
});
