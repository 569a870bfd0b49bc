/**
 * Shared setup for web-mode specs against one headless peer: Chromium for the file, Alice in a
 * web-mode page and Bob a headless `parley peer`, contacts and connected, Bob's chat open in the page.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { HeadlessPeer, tempProfile as peerProfile } from '../helpers/headless-peer';
import { ensureRendererBuilt, launchChromium, removeTempProfiles, startWeb, tempProfile, type WebInstance } from './support';

const BROKER = process.env.PARLEY_TEST_BROKER ?? 'mqtt://127.0.0.1:1883';
export const WAIT = { timeout: 90_000 };

/** Call at the top of a spec file: registers the hooks; `pair()` starts one Alice/Bob pair. */
export function webAndPeer(): { pair(): Promise<{ alice: WebInstance; bob: HeadlessPeer; page: Page }> } {
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
  return {
    async pair() {
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
      return { alice, bob, page };
    },
  };
}
