/**
 * Web mode, through the UI only: a file dropped onto the chat in a Chromium page reaches a
 * headless peer (the bytes cross the page's own WebRTC data channel and the host⇄page bridge),
 * the progress bar is screenshot mid-transfer, and the received file's SHA-256 matches.
 */
import { describe, expect, it } from 'vitest';
import { sha256OfFile } from '../integration/files/support';
import { screenshot } from './support';
import { WAIT, webAndPeer } from './web-and-peer';

const SIZE = 24 * 1024 * 1024;
const { pair } = webAndPeer();

describe('files in web mode', () => {
  it('a file dropped into the page reaches a headless peer with its SHA-256 intact', { timeout: 300_000 }, async () => {
    const { alice, bob, page } = await pair();

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
