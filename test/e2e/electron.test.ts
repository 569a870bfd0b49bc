/**
 * Electron mode through playwright-core's _electron. Runs wherever the Electron binary is
 * installed; on machines installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1 each spec reports itself
 * as skipped, with the reason in its name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { _electron as electron, type ElectronApplication, type Page } from 'playwright-core';
import {
  ROOT, electronBinary, ensureDisplay, ensureElectronBuilt, ensureRendererBuilt, headlessWhoami, removeTempProfiles, screenshot, tempProfile,
} from './support';

const binary = electronBinary();
const electronPresent = binary.path !== null;
const skipNote = binary.path === null ? ` [SKIPPED: ${binary.reason}]` : '';
if (!electronPresent) console.warn(`Electron e2e specs skipped: ${binary.path === null ? binary.reason : ''}`);

const BROKER = process.env.PARLEY_TEST_BROKER ?? 'mqtt://127.0.0.1:1883';
const WAIT = { timeout: 60_000 };
let display: { display: string; stop(): void } | null = null;
const apps: ElectronApplication[] = [];

beforeAll(async () => {
  if (!electronPresent) return;
  ensureRendererBuilt();
  ensureElectronBuilt();
  display = await ensureDisplay();
});

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close().catch(() => {})));
  display?.stop();
  removeTempProfiles();
});

async function launch(profile: string, extraArgs: string[] = []): Promise<{ app: ElectronApplication; page: Page }> {
  if (binary.path === null) throw new Error(binary.reason);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'ELECTRON_RUN_AS_NODE') env[k] = v;
  if (display) env.DISPLAY = display.display;
  const rootArgs = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
  const app = await electron.launch({
    executablePath: binary.path,
    args: [...rootArgs, ROOT, '--profile', profile, ...extraArgs],
    cwd: ROOT,
    env,
    timeout: 60_000,
  });
  apps.push(app);
  const page = await app.firstWindow();
  return { app, page };
}

describe('Electron mode', () => {
  it.skipIf(!electronPresent)(`shows the userId that whoami reports for the same profile${skipNote}`, async () => {
    const profile = tempProfile('electron-id');
    const who = await headlessWhoami(profile);
    const { app, page } = await launch(profile);

    await expect.poll(() => page.getByTestId('my-user-id').inputValue(), WAIT).toBe(who.userId);
    await screenshot(page, 'electron-identity');

    // The page sees the contract and nothing of Node or Electron.
    const exposed = await page.evaluate(() => ({
      parley: Object.keys((window as unknown as { parley?: object }).parley ?? {}).sort(),
      require: typeof (window as unknown as { require?: unknown }).require,
      process: typeof (window as unknown as { process?: unknown }).process,
    }));
    expect(exposed).toEqual({ parley: ['call', 'on'], require: 'undefined', process: 'undefined' });
    const refused = await page.evaluate(() =>
      (window as unknown as { parley: { call(c: string, a: unknown): Promise<unknown> } }).parley.call('shell.exec', {}).then(() => 'accepted', (e: Error) => e.message));
    expect(refused).toContain('UNKNOWN_CALL');
    // Navigation and new windows are denied: the page stays our file:// page, window.open gives null.
    const opened = await page.evaluate(() => window.open('https://example.org') === null);
    expect(opened).toBe(true);
    await page.evaluate(() => { location.href = 'https://example.org/'; });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(page.url()).toMatch(/^file:/);
    expect(app.windows()).toHaveLength(1);
  });

  it.skipIf(!electronPresent)(`two profiles add each other, accept, chat and see delivered${skipNote}`, { timeout: 240_000 }, async () => {
    const alice = tempProfile('electron-alice');
    const bob = tempProfile('electron-bob');
    const aliceId = (await headlessWhoami(alice)).userId;
    const bobId = (await headlessWhoami(bob)).userId;
    const { page: pa } = await launch(alice);
    const { page: pb } = await launch(bob);
    for (const [page, id] of [[pa, aliceId], [pb, bobId]] as const) {
      await expect.poll(() => page.getByTestId('my-user-id').inputValue(), WAIT).toBe(id);
      await page.getByTestId('settings-button').click();
      await page.getByTestId('settings-broker').fill(BROKER);
      await page.getByTestId('settings-name').fill(page === pa ? 'Alice' : 'Bob');
      await page.getByTestId('settings-save').click();
    }

    await pa.getByTestId('add-contact-button').click();
    await pa.getByTestId('add-contact-input').fill(bobId);
    await pa.getByTestId('add-contact-input').press('Enter');
    await pb.getByTestId(`accept-${aliceId}`).click(WAIT);
    await pa.getByTestId(`contact-${bobId}`).click(WAIT);
    await pb.getByTestId(`contact-${aliceId}`).click(WAIT);

    await pa.getByTestId('composer-input').fill('Hello from Electron');
    await pa.getByTestId('composer-input').press('Enter');
    await expect.poll(() => pa.locator('[data-mine="true"]', { hasText: 'Hello from Electron' }).getByTestId(/^message-status-/).getAttribute('data-status'), WAIT).toBe('delivered');
    await pb.locator('[data-mine="false"]', { hasText: 'Hello from Electron' }).waitFor(WAIT);
    await pb.getByTestId('composer-input').fill('Hi back');
    await pb.getByTestId('composer-input').press('Enter');
    await expect.poll(() => pb.locator('[data-mine="true"]', { hasText: 'Hi back' }).getByTestId(/^message-status-/).getAttribute('data-status'), WAIT).toBe('delivered');
    await screenshot(pa, 'electron-chat-alice');
    await screenshot(pb, 'electron-chat-bob');
  });
});
