/**
 * Finding 13 against real processes: a settings.update with a javascript: broker URL over the
 * web API, and a profile whose stored settings hold unusable URLs (as another tool, an old
 * version or an attacker with the file could leave them).
 */
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openStore } from '../../../src/main/store';
import { HeadlessPeer, tempProfile as peerProfile } from '../../helpers/headless-peer';
import { ensureRendererBuilt, removeTempProfiles, startWeb, tempProfile, type WebInstance } from '../../e2e/support';

const NO_BROKER = 'mqtt://127.0.0.1:9';

function writeStoredSettings(profile: string, value: unknown): void {
  const store = openStore(join(profile, 'parley.db'));
  store.setSetting('settings', value);
  store.close();
}

function readStoredSettings(profile: string): unknown {
  const store = openStore(join(profile, 'parley.db'));
  try { return store.getSetting('settings'); } finally { store.close(); }
}

async function connect(web: WebInstance): Promise<(call: string, args: unknown) => Promise<{ ok: boolean; result?: unknown; error?: { code: string; message: string } }>> {
  const url = new URL(web.url);
  const ws = new WebSocket(`ws://${url.host}/api?token=${url.hash.replace('#token=', '')}`, { headers: { origin: `http://${url.host}` } });
  sockets.push(ws);
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  let id = 0;
  return (call, args) => new Promise((resolve) => {
    const mine = ++id;
    const onMessage = (data: WebSocket.RawData): void => {
      const frame = JSON.parse(String(data)) as { id?: number; ok: boolean };
      if (frame.id !== mine) return;
      ws.off('message', onMessage);
      resolve(frame);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ id: mine, call, args }));
  });
}

const sockets: WebSocket[] = [];
const webs: WebInstance[] = [];
const peers: HeadlessPeer[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await Promise.all(webs.splice(0).map((w) => w.stop()));
  await Promise.all(peers.splice(0).map((p) => p.quit()));
});
afterAll(() => removeTempProfiles());

describe('settings accept only broker and ICE URL schemes', () => {
  it('refuses non-MQTT broker URLs and non-STUN/TURN ICE URLs over the web API, with a reason, and saves nothing', async () => {
    ensureRendererBuilt();
    const web = await startWeb({ profile: tempProfile('settings'), broker: NO_BROKER });
    webs.push(web);
    const call = await connect(web);
    for (const brokerUrl of ['javascript:alert(1)', 'file:///etc/passwd', 'http://127.0.0.1:1883', 'data:text/html,x']) {
      const reply = await call('settings.update', { brokerUrl });
      expect(reply.ok, brokerUrl).toBe(false);
      expect(reply.error?.code).toBe('BAD_ARGS');
      expect(reply.error?.message).toContain('mqtt://');
    }
    for (const ice of ['javascript:alert(1)', 'http://stun.example.org', 'stun:', 'turn:host:1/../x']) {
      const reply = await call('settings.update', { iceServers: [ice] });
      expect(reply.ok, ice).toBe(false);
      expect(reply.error?.message).toMatch(/stun:|turn/);
    }
    const ok = await call('settings.update', { brokerUrl: 'wss://broker.example.org/mqtt', iceServers: ['stun:stun.example.org:3478', 'turns:turn.example.org:5349?transport=tcp'] });
    expect(ok.ok).toBe(true);
    const got = await call('settings.get', {});
    expect(got.result).toMatchObject({ brokerUrl: 'wss://broker.example.org/mqtt' });
  }, 120_000);

  it('falls back to the default for unusable stored settings and tells the user', async () => {
    const profile = peerProfile('stored');
    writeStoredSettings(profile, { displayName: 'Mallory', brokerUrl: 'javascript:alert(1)', iceServers: ['file:///etc/passwd'] });
    const peer = await HeadlessPeer.start({ profile, broker: NO_BROKER });
    peers.push(peer);
    const notice = await peer.waitFor((l) => l.event === 'error' && l.code === 'SETTINGS_RESET' && String(l.message).includes('broker URL'), 30_000);
    expect(String(notice.message)).toContain('Open Settings');
    await peer.waitFor((l) => l.event === 'error' && l.code === 'SETTINGS_RESET' && String(l.message).includes('ICE servers'), 30_000);
    expect(await peer.quit()).toBe(0);
    peers.splice(0);
    const saved = readStoredSettings(profile) as { brokerUrl: string; iceServers: string[]; displayName: string };
    expect(saved.brokerUrl).toBe('mqtt://127.0.0.1:18883');
    expect(saved.iceServers).toEqual([]);
    expect(saved.displayName).toBe('Mallory');
  }, 120_000);

  it('shows the reset in web mode status, for a UI that connects later', async () => {
    const profile = tempProfile('stored-web');
    writeStoredSettings(profile, { iceServers: ['javascript:alert(1)'] });
    const web = await startWeb({ profile, broker: NO_BROKER });
    webs.push(web);
    const call = await connect(web);
    const status = await call('status', {});
    expect((status.result as { notices?: string[] }).notices?.join(' ')).toContain('ICE servers');
    expect((await call('settings.get', {})).result).toMatchObject({ iceServers: [] });
  }, 120_000);
});
