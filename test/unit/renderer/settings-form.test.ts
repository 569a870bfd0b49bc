/** The settings form's discovery fields: checked like the host checks them, with reasons; restart-only changes named. */
import { describe, expect, it } from 'vitest';
import { parseApiCall, type Settings } from '../../../src/shared/api';
import { checkFileFields, checkSettings, gibText, needsRestart } from '../../../src/renderer/state/validate';

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

describe('settings form: downloads folder and largest file to accept', () => {
  it('takes an absolute folder and a size in GiB, and the host accepts the same patch', () => {
    const r = checkFileFields(' /home/me/Downloads ', '0.5');
    expect(r).toEqual({ ok: true, patch: { downloadsDir: '/home/me/Downloads', maxFileBytes: 512 * 1024 ** 2 } });
    if (r.ok) expect(parseApiCall('settings.update', r.patch).ok).toBe(true);
    expect(checkFileFields('C:\\Users\\me\\Downloads', '64')).toMatchObject({ ok: true, patch: { maxFileBytes: 64 * 1024 ** 3 } });
    expect(checkFileFields('/d', '1,5')).toMatchObject({ ok: true, patch: { maxFileBytes: 1.5 * 1024 ** 3 } });
  });

  it('shows the saved cap in GiB and keeps it exactly when it was not edited', () => {
    expect(gibText(4 * 1024 ** 3)).toBe('4');
    expect(gibText(1234567890)).toBe('1.15');
    expect(checkFileFields('/d', gibText(1234567890), 1234567890)).toEqual({ ok: true, patch: { downloadsDir: '/d', maxFileBytes: 1234567890 } });
  });

  it('refuses a relative folder and sizes out of range, saying what to write', () => {
    expect(checkFileFields('Downloads', '4')).toEqual({ ok: false, message: expect.stringMatching(/^Downloads folder: the full path/) });
    expect(checkFileFields('', '4')).toMatchObject({ ok: false });
    for (const size of ['0', '65', '-1', 'four', '', '1e3', '0.0001']) {
      expect(checkFileFields('/d', size), size).toEqual({ ok: false, message: expect.stringMatching(/^Largest file to accept: a number of GiB/) });
    }
  });
});
