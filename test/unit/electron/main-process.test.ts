/**
 * The Electron main process and preload, run in Node with a stand-in for the absent Electron
 * binary but the real host services behind them: profile before the single-instance lock,
 * locked-down window, and the one IPC channel refusing strangers and bad arguments.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FakeElectron } from './fake-electron';

const fake = vi.hoisted(() => ({ current: null as FakeElectron | null }));
vi.mock('electron', async () => {
  const { createFakeElectron: create } = await import('./fake-electron');
  fake.current = create();
  return fake.current.module;
});

const profile = mkdtempSync(join(tmpdir(), 'parley-electron-main-'));
let savedArgv: string[];

beforeAll(async () => {
  savedArgv = process.argv;
  process.argv = ['/usr/bin/electron', '.', '--profile', profile];
  await import('../../../src/main/electron/main');
  await vi.waitFor(() => { if (!fake.current?.windows.length) throw new Error('no window yet'); }, { timeout: 60_000, interval: 100 });
});

afterAll(async () => {
  process.argv = savedArgv;
  const willQuit = fake.current?.appHandlers.get('will-quit')?.[0] as ((e: { preventDefault(): void }) => void) | undefined;
  willQuit?.({ preventDefault: () => {} });
  await vi.waitFor(() => { if (!fake.current?.log.includes('quit')) throw new Error('host still closing'); }, { timeout: 30_000 });
  rmSync(profile, { recursive: true, force: true });
});

function electron() {
  if (!fake.current) throw new Error('electron stand-in not loaded');
  return fake.current;
}

type CallHandler = (event: unknown, call: unknown, args: unknown) => Promise<{ ok: boolean; result?: unknown; error?: { code: string; message: string } }>;

function invoke(senderUrl: string | undefined, call: unknown, args: unknown, isMainFrame = true) {
  const handler = electron().ipcHandlers.get('parley:call') as CallHandler | undefined;
  if (!handler) throw new Error('parley:call not registered');
  const senderFrame = senderUrl === undefined ? null : { url: senderUrl, parent: isMainFrame ? null : {} };
  return handler({ senderFrame }, call, args);
}

describe('Electron main process', () => {
  it('selects the profile before taking the single-instance lock', () => {
    const log = electron().log;
    expect(log.indexOf('setPath:userData')).toBeGreaterThanOrEqual(0);
    expect(log.indexOf('setPath:userData')).toBeLessThan(log.indexOf('requestSingleInstanceLock'));
  });

  it('opens one sandboxed, isolated window without Node that cannot navigate or open windows', () => {
    const [win] = electron().windows;
    expect(win?.options.webPreferences).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false, webSecurity: true });
    expect(String(win?.options.webPreferences?.preload)).toMatch(/preload[/\\]index\.cjs$/);
    expect(win?.loadedFile).toMatch(/renderer[/\\]index\.html$/);
    let prevented = false;
    (win?.contentsHandlers.get('will-navigate') as ((e: { preventDefault(): void }) => void))({ preventDefault: () => { prevented = true; } });
    expect(prevented).toBe(true);
    expect(win?.windowOpenHandler?.({ url: 'https://example.org' })).toEqual({ action: 'deny' });
    expect(win?.windowOpenHandler?.({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(electron().log).toEqual(expect.arrayContaining(['csp-header', 'permission-request-handler', 'permission-check-handler']));
  });

  it('answers calls from its own page with the real host', async () => {
    const page = pathToFileURL(electron().windows[0]!.loadedFile!).href;
    const reply = await invoke(page, 'whoami', {});
    expect(reply.ok).toBe(true);
    expect((reply.result as { userId: string }).userId).toMatch(/^[0-9a-f]{64}$/);
    const contacts = await invoke(page, 'contacts.list', {});
    expect(contacts).toEqual({ ok: true, result: [] });
    // Received files go to the OS Downloads folder (app.getPath) until the user picks another.
    const settings = await invoke(page, 'settings.get', {});
    expect(settings.result).toMatchObject({ downloadsDir: '/fake/downloads', maxFileBytes: 4 * 1024 ** 3 });
  });

  it('refuses other senders, subframes, unknown calls and bad arguments', async () => {
    const page = pathToFileURL(electron().windows[0]!.loadedFile!).href;
    for (const sender of ['https://evil.example/', 'file:///tmp/other.html', undefined]) {
      expect((await invoke(sender, 'whoami', {})).error?.code, String(sender)).toBe('UNAUTHORIZED');
    }
    expect((await invoke(page, 'whoami', {}, false)).error?.code).toBe('UNAUTHORIZED');
    expect((await invoke(page, 'fs.readFile', {})).error?.code).toBe('UNKNOWN_CALL');
    const bad = await invoke(page, 'messages.send', { to: 'x', text: 'hi' });
    expect(bad.error?.code).toBe('BAD_ARGS');
    expect(bad.error?.message).toContain('to');
  });

  it('forwards host events to the window on parley:event', async () => {
    const page = pathToFileURL(electron().windows[0]!.loadedFile!).href;
    // Adding a contact makes the host report contactsChanged.
    await invoke(page, 'contacts.add', { userId: 'ab'.repeat(32), name: 'Someone' });
    await vi.waitFor(() => {
      const sent = electron().windows[0]!.sent;
      if (!sent.some((s) => s.channel === 'parley:event' && s.args[0] === 'contactsChanged')) throw new Error(`no event yet: ${JSON.stringify(sent)}`);
    }, { timeout: 30_000 });
  });
});

describe('preload', () => {
  beforeAll(async () => {
    await import('../../../src/preload/index');
  });

  it('exposes exactly window.parley = {call, on, pathForFile}', () => {
    expect([...electron().exposed.keys()]).toEqual(['parley']);
    expect(Object.keys(electron().exposed.get('parley') as object).sort()).toEqual(['call', 'on', 'pathForFile']);
  });

  it('forwards allow-listed calls on parley:call and throws "CODE: message" errors', async () => {
    const bridge = electron().exposed.get('parley') as { call(c: unknown, a: unknown): Promise<unknown> };
    electron().setInvokeReply({ ok: true, result: { userId: 'u' } });
    expect(await bridge.call('whoami', {})).toEqual({ userId: 'u' });
    expect(electron().invoked.at(-1)).toEqual({ channel: 'parley:call', args: ['whoami', {}] });
    electron().setInvokeReply({ ok: false, error: { code: 'BAD_ARGS', message: 'to: invalid' } });
    await expect(bridge.call('messages.send', {})).rejects.toThrow('BAD_ARGS: to: invalid');
    const before = electron().invoked.length;
    await expect(bridge.call('process.exit', {})).rejects.toThrow(/^UNKNOWN_CALL/);
    expect(electron().invoked.length).toBe(before);
  });

  it('delivers only allow-listed events to their listeners', () => {
    const bridge = electron().exposed.get('parley') as { on(e: unknown, l: unknown): () => void };
    const seen: unknown[] = [];
    const off = bridge.on('presence', (p: unknown) => seen.push(p));
    const dispatch = electron().rendererListeners.get('parley:event') as (e: unknown, name: unknown, payload: unknown) => void;
    dispatch({}, 'presence', { userId: 'u', presence: 'online' });
    dispatch({}, 'message', { id: 'not for this listener' });
    off();
    dispatch({}, 'presence', { userId: 'u', presence: 'offline' });
    expect(seen).toEqual([{ userId: 'u', presence: 'online' }]);
    expect(() => bridge.on('ipc-internal', () => {})).toThrow(/^UNKNOWN_EVENT/);
  });
});

