/**
 * Web mode, through the UI: an image a headless peer offers shows its thumbnail on the page's offer
 * card before it is accepted (the offer carries it; the page never fetched the file), decoded as
 * an image by Chromium; accepted in the page, the done card's Download link serves the verified bytes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makePng } from '../integration/files/support';
import { screenshot } from './support';
import { WAIT, webAndPeer } from './web-and-peer';

const { pair } = webAndPeer();

describe('file thumbnails in web mode', () => {
  it('an offered image shows its thumbnail on the offer card before accepting; once received, a Download link serves its bytes', { timeout: 240_000 }, async () => {
    const { alice, bob, page } = await pair();

    const dir = mkdtempSync(join(tmpdir(), 'parley-thumb-e2e-'));
    const png = makePng(64, 48);
    writeFileSync(join(dir, 'photo.png'), png);
    await bob.ok({ op: 'file.send', to: alice.userId, path: join(dir, 'photo.png') }, 60_000);
    const card = page.locator('[data-testid="file-card"][data-state="offered"]');
    await card.waitFor(WAIT);
    const img = card.locator('[data-testid="file-thumb"][data-thumb="offer"]');
    await img.waitFor(WAIT);
    expect(await img.getAttribute('src')).toBe(`data:image/png;base64,${png.toString('base64')}`);
    await expect.poll(() => img.evaluate((el) => (el as HTMLImageElement).naturalWidth), WAIT).toBe(64);
    await expect(card.getByTestId('file-accept').isVisible()).resolves.toBe(true);
    await screenshot(page, 'file-offer-thumbnail');

    // Accepted in the page: once verified, web mode offers a Download link (no Open/Show in folder),
    // and it serves exactly the received bytes; the preview stays.
    const id = await card.getAttribute('data-file-id');
    await card.getByTestId('file-accept').click();
    const done = page.locator(`[data-testid="file-card"][data-file-id="${id}"][data-state="done"]`);
    await done.waitFor(WAIT);
    const link = done.getByTestId('file-download');
    expect(await link.getAttribute('download')).toBe('photo.png');
    expect(await done.getByTestId('file-open').count()).toBe(0);
    const href = String(await link.getAttribute('href'));
    expect(href).toMatch(new RegExp(`^/files/${id}\\?token=`));
    const fetched = await page.evaluate(async (url) => {
      const res = await fetch(url);
      return { status: res.status, type: res.headers.get('content-type'), bytes: [...new Uint8Array(await res.arrayBuffer())] };
    }, href);
    expect(fetched).toMatchObject({ status: 200, type: 'image/png' });
    expect(Buffer.from(fetched.bytes).equals(png)).toBe(true);
    expect(await done.locator('[data-testid="file-thumb"][data-thumb="offer"]').count()).toBe(1);
  });
});
