/** The settings form's discovery fields: checked like the host checks them, with reasons; restart-only changes named. */
import { describe, expect, it } from 'vitest';
import { parseApiCall, type Settings } from '../../../src/shared/api';
import { checkSettings, needsRestart } from '../../../src/renderer/state/validate';

const BASE: Settings = {
  displayName: 'Me', brokerUrl: 'mqtt://127.0.0.1:1883', iceServers: [], mailbox: '', signalUrls: [], registryUrl: null,
  networkId: 'parley', discoverable: true, coordinator: false, allowRelay: false, downloadsDir: '/tmp/d', maxFileBytes: 1,
};
const form = (reach: Partial<{ signalText: string; registryText: string; networkId: string; discoverable: boolean }>) =>
  checkSettings('Me', 'mqtt://127.0.0.1:1883', '', '', { signalText: '', registryText: '', networkId: 'parley', discoverable: true, ...reach });

describe('settings form: signal servers, registry, network id', () => {
  it('accepts good values, one signal server per line, empty registry = none, and the host accepts the same patch', () => {
    const r = form({ signalText: ' ws://127.0.0.1:18885 \n\nwss://sig.example.org\nws://127.0.0.1:18885', registryText: ' http://127.0.0.1:18886 ', networkId: 'team_1', discoverable: false });
    expect(r).toEqual({ ok: true, patch: expect.objectContaining({ signalUrls: ['ws://127.0.0.1:18885', 'wss://sig.example.org'], registryUrl: 'http://127.0.0.1:18886', networkId: 'team_1', discoverable: false }) });
    if (r.ok) expect(parseApiCall('settings.update', r.patch).ok).toBe(true);
    expect(form({ registryText: '   ' })).toMatchObject({ ok: true, patch: { registryUrl: null } });
  });

  it('refuses bad values with what to write instead', () => {
    expect(form({ signalText: 'http://127.0.0.1:1' })).toEqual({ ok: false, message: expect.stringMatching(/^Signal server "http:\/\/127.0.0.1:1": must be a signal server URL.*ws:\/\/127.0.0.1:18885/) });
    expect(form({ signalText: 'ws://host/path' })).toMatchObject({ ok: false });
    expect(form({ signalText: 'ws://a:1\nws://b:1\nws://c:1\nws://d:1\nws://e:1' })).toEqual({ ok: false, message: 'Signal servers: At most 4 signal servers.' });
    expect(form({ registryText: 'javascript:alert(1)' })).toEqual({ ok: false, message: expect.stringContaining('must start with http:// or https://') });
    expect(form({ networkId: 'two words' })).toEqual({ ok: false, message: expect.stringMatching(/^Network id: 1 to 64/) });
    expect(form({ networkId: '' })).toMatchObject({ ok: false });
  });

  it('names the changes that wait for a restart, and only those', () => {
    expect(needsRestart(BASE, { signalUrls: ['ws://x:1'], displayName: 'New', discoverable: false, registryUrl: 'http://r:1', networkId: 'other', brokerUrl: 'mqtt://127.0.0.1:1883' })).toEqual([]);
    expect(needsRestart(BASE, { brokerUrl: 'mqtt://other:1883', mailbox: 'none' })).toEqual(['broker URL', 'mailbox']);
    expect(needsRestart(BASE, { iceServers: ['stun:s:1'] })).toEqual(['ICE servers']);
  });
});
