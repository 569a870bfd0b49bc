/**
 * Electron mode through playwright-core's _electron. Runs wherever the Electron binary is
 * installed; on machines installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1 each spec reports itself
 * as skipped, with the reason in its name.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { _electron as electron, type ElectronApplication, type Page } from 'playwright-core';
import { HeadlessPeer, tempProfile as peerProfile } from '../helpers/headless-peer';
import { makePng, sha256OfFile } from '../integration/files/support';
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
const peers: HeadlessPeer[] = [];

beforeAll(async () => {
  if (!electronPresent) return;
  ensureRendererBuilt();
  ensureElectronBuilt();
  display = await ensureDisplay();
});

afterAll(async () => {
  await Promise.all([...apps.map((a) => a.close().catch(() => {})), ...peers.map((p) => p.quit())]);
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

  it.skipIf(!electronPresent)(`files: a picked image is sent by its path with a preview; a received one shows its thumbnail, then Open and Show in folder${skipNote}`, { timeout: 240_000 }, async () => {
    const work = mkdtempSync(join(tmpdir(), 'parley-electron-files-'));
    const downloads = join(work, 'downloads');
    const { page } = await launch(tempProfile('electron-files'));
    const bob = await HeadlessPeer.start({ profile: peerProfile('bob'), name: 'Bob', broker: BROKER });
    peers.push(bob);
    await expect.poll(() => page.getByTestId('my-user-id').inputValue(), WAIT).toMatch(/^[0-9a-f]{64}$/);
    await page.getByTestId('settings-button').click(WAIT);
    await page.getByTestId('settings-broker').fill(BROKER);
    await page.getByTestId('settings-name').fill('Alice');
    await page.getByTestId('settings-downloads').fill(downloads);
    await page.getByTestId('settings-save').click();
    const aliceId = await page.getByTestId('my-user-id').inputValue();
    await bob.ok({ op: 'contact.add', userId: aliceId, name: 'Alice' });
    await page.getByTestId(`accept-${bob.userId}`).click(WAIT);
    await bob.waitFor((l) => l.event === 'connection' && l.userId === aliceId && l.state === 'CONNECTED', 90_000);
    await page.getByTestId(`contact-${bob.userId}`).click(WAIT);

    // Picked with the file button: a File backed by disk, whose path only the preload can tell.
    const picked = join(work, 'picked.png');
    writeFileSync(picked, makePng(200, 150));
    await page.getByTestId('file-input').setInputFiles(picked);
    const offer = await bob.waitFor((l) => l.event === 'file' && l.state === 'offered' && l.name === 'picked.png', 90_000);
    expect(String(offer.thumb)).toMatch(/^data:image\/jpeg;base64,/); // the renderer's canvas preview
    await bob.ok({ op: 'file.accept', id: offer.id });
    const got = await bob.waitFor((l) => l.event === 'file' && l.id === offer.id && (l.state === 'done' || l.state === 'failed'), 120_000);
    expect(got.state).toBe('done');
    expect(await sha256OfFile(String(got.path))).toBe(await sha256OfFile(picked));
    await page.locator(`[data-testid="file-card"][data-file-id="${String(offer.id)}"][data-state="done"]`).waitFor(WAIT);

    // Received: the offer's preview shows before accepting; done offers Open / Show in folder.
    const photo = join(work, 'photo.png');
    const png = makePng(40, 30);
    writeFileSync(photo, png);
    const { id } = await bob.ok({ op: 'file.send', to: aliceId, path: photo }, 60_000);
    const card = page.locator(`[data-testid="file-card"][data-file-id="${String(id)}"]`);
    const thumb = card.locator('[data-testid="file-thumb"][data-thumb="offer"]');
    await thumb.waitFor(WAIT);
    await expect.poll(() => thumb.evaluate((el) => (el as HTMLImageElement).naturalWidth), WAIT).toBe(40);
    await card.getByTestId('file-accept').click();
    await page.locator(`[data-testid="file-card"][data-file-id="${String(id)}"][data-state="done"]`).waitFor(WAIT);
    expect(await card.getByTestId('file-open').isVisible()).toBe(true);
    expect(await card.getByTestId('file-show').isVisible()).toBe(true);
    expect(await card.textContent()).toContain(join(downloads, 'photo.png'));
    await screenshot(page, 'electron-files');
  });
});
