/**
 * Web mode, through the UI only: a file dropped onto the chat in a Chromium page reaches a
 * headless peer (the bytes cross the page's own WebRTC data channel and the host⇄page bridge),
 * the progress bar is screenshot mid-transfer, and the received file's SHA-256 matches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { HeadlessPeer, tempProfile as peerProfile } from '../helpers/headless-peer';
import { sha256OfFile } from '../integration/files/support';
import { ensureRendererBuilt, launchChromium, removeTempProfiles, screenshot, startWeb, tempProfile, type WebInstance } from './support';

const BROKER = process.env.PARLEY_TEST_BROKER ?? 'mqtt://127.0.0.1:1883';
const WAIT = { timeout: 90_000 };
const SIZE = 24 * 1024 * 1024;

let browser: Browser;
const running: WebInstance[] = [];
const peers: HeadlessPeer[] = [];

beforeAll(async () => {
  ensureRendererBuilt();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([...running.map((w) => w.stop()), ...peers.map((p) => p.quit())]);
  removeTempProfiles();
});

describe('files in web mode', () => {
  it('a file dropped into the page reaches a headless peer with its SHA-256 intact', { timeout: 300_000 }, async () => {
    const alice = await startWeb({ profile: tempProfile('alice'), broker: BROKER, name: 'Alice' });
    running.push(alice);
    const bob = await HeadlessPeer.start({ profile: peerProfile('bob'), name: 'Bob', broker: BROKER });
    peers.push(bob);
    await bob.signalingUp();
    const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
    await page.goto(alice.url);
    await expect.poll(() => page.getByTestId('my-user-id').inputValue(), WAIT).toBe(alice.userId);

    await bob.ok({ op: 'contact.add', userId: alice.userId, name: 'Alice' });
    await page.getByTestId(`accept-${bob.userId}`).click(WAIT);
    await bob.waitFor((l) => l.event === 'connection' && l.userId === alice.userId && l.state === 'CONNECTED', 90_000);
    await page.getByTestId(`contact-${bob.userId}`).click(WAIT);

    // Drop a file made in the page (random bytes), exactly as a dragged file arrives.
    const pageHash = await page.evaluate(async (size) => {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)));
      const file = new File([bytes], 'holiday photos.zip', { type: 'application/zip' });
      const dt = new DataTransfer();
      dt.items.add(file);
      const target = document.querySelector('[data-testid="chat-view"]')!;
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      const digest = await crypto.subtle.digest('SHA-256', bytes);
      return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
    }, SIZE);

    const offered = await bob.waitFor((l) => l.event === 'file' && l.state === 'offered' && l.peer === alice.userId, 90_000);
    expect(offered).toMatchObject({ name: 'holiday photos.zip', size: SIZE });
    await page.locator('[data-testid="file-card"][data-state="offered"]').waitFor(WAIT);
    await bob.ok({ op: 'file.accept', id: offered.id });

    await page.getByTestId('file-progress').waitFor(WAIT);
    // Mid-transfer: some bytes verified at the receiver, not all.
    await expect.poll(async () => Number(await page.getByTestId('file-progress').getAttribute('value')), WAIT).toBeGreaterThan(0);
    expect(await page.getByTestId('file-speed').textContent()).toMatch(/\d+% · .+\/s · /);
    await screenshot(page, 'file-progress');

    const done = await bob.waitFor((l) => l.event === 'file' && l.id === offered.id && (l.state === 'done' || l.state === 'failed'), 240_000);
    expect(done).toMatchObject({ state: 'done', bytes: SIZE });
    expect(await sha256OfFile(String(done.path))).toBe(pageHash);
    await page.locator('[data-testid="file-card"][data-state="done"]').waitFor(WAIT);
    expect(await page.getByTestId('file-done').textContent()).toContain('Delivered to Bob');
  });
});
