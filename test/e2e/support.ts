/**
 * Shared plumbing for the end-to-end specs: Debian Chromium through playwright-core, the real
 * `parley web` process, the built renderer, screenshots under test-results/screenshots/.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const BIN = join(ROOT, 'bin/parley.mjs');
export const SCREENSHOT_DIR = join(ROOT, 'test-results/screenshots');
export const CHROMIUM_PATH = process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const createdProfiles: string[] = [];

export function tempProfile(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `parley-e2e-${label}-`));
  createdProfiles.push(dir);
  return dir;
}

/** Call after every process using them has stopped. */
export function removeTempProfiles(): void {
  for (const dir of createdProfiles.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Newest modification time of any file under these folders (ms). */
function newestMtime(dirs: string[]): number {
  let newest = 0;
  for (const dir of dirs) {
    for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

/** Builds out/renderer if a previous `npm run build:renderer` did not, or the UI's sources changed since (a stale page tests old code). */
export function ensureRendererBuilt(): void {
  const index = join(ROOT, 'out/renderer/index.html');
  const fresh = (): boolean => existsSync(index) && statSync(index).mtimeMs >= newestMtime([join(ROOT, 'src/renderer'), join(ROOT, 'src/shared')]);
  if (fresh()) return;
  // Test files run in parallel: one builds, the others wait for it instead of emptying out/renderer under its page.
  mkdirSync(join(ROOT, 'out'), { recursive: true });
  const lock = join(ROOT, 'out/.renderer-build-lock');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 10 * 60_000) rmSync(lock, { recursive: true, force: true });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
      if (fresh()) return;
    }
  }
  try {
    if (fresh()) return;
    execFileSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'vite.renderer.config.ts', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** `executablePath`: e.g. a wrapper that runs Chromium inside a network namespace (it talks to Playwright over a pipe). */
export async function launchChromium(executablePath = CHROMIUM_PATH): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}. Install it with "apt-get install -y chromium xvfb" (or set PARLEY_CHROMIUM).`);
  }
  return chromium.launch({ executablePath, args: CHROMIUM_FLAGS, headless: true });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

export interface WebInstance {
  url: string;
  userId: string;
  profile: string;
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `parley web --port 0` and waits for its `{"ready":true,"url":…}` line on stdout. */
export async function startWeb(opts: {
  profile: string; broker?: string; name?: string; mailbox?: string; extraArgs?: string[];
  /** Command prefix, e.g. ['ip', 'netns', 'exec', NS] to run it inside a network namespace. */
  wrap?: string[];
  /** Extra environment variables for the `parley web` process. */
  env?: NodeJS.ProcessEnv;
}): Promise<WebInstance> {
  const args = [BIN, 'web', '--port', '0', '--profile', opts.profile];
  if (opts.broker) args.push('--broker', opts.broker);
  if (opts.name) args.push('--name', opts.name);
  if (opts.mailbox) args.push('--mailbox', opts.mailbox);
  args.push(...(opts.extraArgs ?? []));
  // PARLEY_WEB_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the web host.
  const nodeArgs = (process.env.PARLEY_WEB_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const argv = [...(opts.wrap ?? []), process.execPath, ...nodeArgs, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const ready = await new Promise<{ url: string; userId: string }>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`parley web printed no URL within 60 s; stderr: ${stderr.slice(-2000)}`)), 60_000);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`parley web exited with ${code}; stderr: ${stderr.slice(-2000)}`)); });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const url = /http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]{64}/.exec(line)?.[0];
      if (!url) return;
      let userId = '';
      try { userId = String((JSON.parse(line) as { userId?: unknown }).userId ?? ''); } catch { /* plain-text URL line */ }
      clearTimeout(timer);
      resolvePromise({ url, userId });
    });
  });
  return { ...ready, profile: opts.profile, stderr: () => stderr, stop: () => stopChild(child) };
}

export interface WebSuite {
  /** The file's one Chromium (launched in beforeAll). */
  readonly browser: Browser;
  /** Starts a `parley web` that is stopped after the file's tests. */
  start(opts: Parameters<typeof startWeb>[0]): Promise<WebInstance>;
  /** Stops one instance early (a user quitting), so afterAll does not stop it again. */
  stop(web: WebInstance): Promise<void>;
  /** A page on the instance, once it shows that instance's userId. */
  openApp(web: WebInstance, viewport?: { width: number; height: number }, timeoutMs?: number): Promise<Page>;
}

/**
 * The setup every web-mode spec repeats: build the renderer, one Chromium for the file, and every
 * `parley web` started through it stopped and its temporary profiles removed afterwards.
 */
export function webSuite(): WebSuite {
  let browser: Browser | undefined;
  const running: WebInstance[] = [];
  beforeAll(async () => {
    ensureRendererBuilt();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all(running.map((w) => w.stop()));
    removeTempProfiles();
  });
  const suite: WebSuite = {
    get browser(): Browser {
      if (!browser) throw new Error('webSuite: Chromium is not launched yet (use it inside a test)');
      return browser;
    },
    async start(opts) {
      const web = await startWeb(opts);
      running.push(web);
      return web;
    },
    async stop(web) {
      const i = running.indexOf(web);
      if (i >= 0) running.splice(i, 1);
      await web.stop();
    },
    async openApp(web, viewport = { width: 1100, height: 700 }, timeoutMs = 60_000) {
      const page = await suite.browser.newPage({ viewport });
      await page.goto(web.url);
      await expect.poll(() => page.getByTestId('my-user-id').inputValue(), { timeout: timeoutMs }).toBe(web.userId);
      return page;
    },
  };
  return suite;
}

/** What `parley peer --json` says `whoami` is for a profile (started, asked, quit). */
export async function headlessWhoami(profile: string): Promise<{ userId: string; name: string }> {
  const child = spawn(process.execPath, [BIN, 'peer', '--profile', profile, '--json'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  try {
    return await new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`no whoami reply within 60 s; stderr: ${stderr.slice(-2000)}`)), 60_000);
      child.once('exit', (code) => reject(new Error(`parley peer exited with ${code}; stderr: ${stderr.slice(-2000)}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let msg: Record<string, unknown>;
        try { msg = JSON.parse(line) as Record<string, unknown>; } catch { return; }
        if (msg.event === 'ready') child.stdin!.write(`${JSON.stringify({ op: 'whoami', reqId: 'who' })}\n`);
        if (msg.reqId === 'who') {
          clearTimeout(timer);
          if (msg.ok !== true) reject(new Error(`whoami failed: ${line}`));
          else resolvePromise({ userId: String(msg.userId), name: String(msg.name) });
        }
      });
    });
  } finally {
    // quit lets the peer flush its store; SIGTERM only if it does not go by itself.
    child.stdin?.write(`${JSON.stringify({ op: 'quit' })}\n`);
    const quitInTime = child.exitCode !== null || await Promise.race([
      new Promise<boolean>((r) => child.once('exit', () => r(true))),
      new Promise<boolean>((r) => setTimeout(() => r(false), 10_000)),
    ]);
    if (!quitInTime) await stopChild(child);
  }
}

/** SIGTERM (parley web and peer both shut down cleanly on it), SIGKILL if that hangs. */
async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Path of the Electron binary, or null with the reason it is missing. */
export function electronBinary(): { path: string } | { path: null; reason: string } {
  try {
    const path = createRequire(import.meta.url)('electron') as unknown;
    if (typeof path === 'string' && existsSync(path)) return { path };
    return { path: null, reason: `the electron package points at ${String(path)}, which does not exist` };
  } catch (err) {
    return { path: null, reason: `Electron binary not installed here (ELECTRON_SKIP_BINARY_DOWNLOAD): ${(err as Error).message.split('\n')[0]}` };
  }
}

/** A DISPLAY for Electron: the current one, or a private Xvfb started for the test run. */
export async function ensureDisplay(): Promise<{ display: string; stop(): void }> {
  if (process.env.DISPLAY) return { display: process.env.DISPLAY, stop: () => {} };
  const xvfb = ['/usr/bin/Xvfb', '/usr/local/bin/Xvfb'].find((p) => existsSync(p));
  if (!xvfb) throw new Error('No DISPLAY and no Xvfb: install it with "apt-get install -y xvfb" or run under xvfb-run.');
  const display = `:${100 + Math.floor(Math.random() * 800)}`;
  const child = spawn(xvfb, [display, '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1_000));
  if (child.exitCode !== null) throw new Error(`Xvfb ${display} exited with ${child.exitCode}`);
  return { display, stop: () => { child.kill('SIGTERM'); } };
}

/** Builds out/main and out/preload once if `npm run build:electron` did not. */
export function ensureElectronBuilt(): void {
  if (existsSync(join(ROOT, 'out/main/index.js')) && existsSync(join(ROOT, 'out/preload/index.cjs'))) return;
  execFileSync(process.execPath, [join(ROOT, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { cwd: ROOT, stdio: 'inherit' });
}

/** Form controls a screen reader could not name (no label, aria-label or text). */
export function unlabeledControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const missing: string[] = [];
    for (const el of Array.from(document.querySelectorAll('button, input, textarea, select'))) {
      const labelled = (el as HTMLInputElement).labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
        || (el.tagName === 'BUTTON' && el.textContent?.trim());
      if (!labelled) missing.push(el.outerHTML.slice(0, 120));
    }
    return missing;
  });
}
