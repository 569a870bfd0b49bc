/**
 * The UI under the conditions a messenger must survive: a long conversation (virtualized list),
 * the other side dying (Reconnecting (attempt n) → Failed → Retry), and messages written while
 * it is away being delivered once it returns. Alice is a web-mode page; Bob a headless peer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { HeadlessPeer, messagesWith, waitConnected } from '../helpers/headless-peer';
import { ensureRendererBuilt, launchChromium, screenshot, startWeb, tempProfile, type WebInstance, removeTempProfiles } from './support';

const BROKER = process.env.PARLEY_TEST_BROKER ?? 'mqtt://127.0.0.1:1883';
const WAIT = { timeout: 90_000 };
const BULK = 400;

let browser: Browser;
let alice: WebInstance | null = null;
let bob: HeadlessPeer | null = null;

beforeAll(async () => {
  ensureRendererBuilt();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await bob?.quit();
  await alice?.stop();
  removeTempProfiles();
});

/** Texts of the rows fully inside the list's viewport, top to bottom. */
function visibleRows(page: Page): Promise<string[]> {
  return page.getByTestId('message-list').evaluate((el) => {
    const view = el.getBoundingClientRect();
    return Array.from(el.querySelectorAll<HTMLElement>('.message-row'))
      .map((row) => ({ box: row.getBoundingClientRect(), text: row.querySelector('.message-text')?.textContent ?? '' }))
      .filter(({ box }) => box.top >= view.top - 1 && box.bottom <= view.bottom + 1)
      .sort((a, b) => a.box.top - b.box.top)
      .map(({ text }) => text);
  });
}

function statusOf(page: Page, text: string) {
  return page.locator('[data-mine="true"]', { hasText: text }).getByTestId(/^message-status-/).getAttribute('data-status');
}

describe('web UI resilience', () => {
  it('virtualizes a long conversation, shows reconnection and failure with Retry, and delivers what was written meanwhile', { timeout: 420_000 }, async () => {
    alice = await startWeb({ profile: tempProfile('res-alice'), broker: BROKER, name: 'Alice' });
    const bobProfile = tempProfile('res-bob');
    bob = await HeadlessPeer.start({ profile: bobProfile, broker: BROKER, name: 'Bob' });
    const bobId = bob.userId;

    const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
    await page.goto(alice.url);
    await expect.poll(() => page.getByTestId('my-user-id').inputValue(), WAIT).toBe(alice.userId);

    // Bob asks; Alice accepts in the UI.
    await bob.ok({ op: 'contact.add', userId: alice.userId, name: 'Alice' });
    await page.getByTestId(`accept-${bobId}`).click(WAIT);
    await page.getByTestId(`contact-${bobId}`).click(WAIT);
    await waitConnected(bob, alice.userId, 90_000);

    // A long conversation: all arrive, but only a screenful of rows is in the DOM.
    for (let i = 1; i <= BULK; i++) bob.writeRaw(`${JSON.stringify({ op: 'send', to: alice.userId, text: `bulk ${i}` })}\n`);
    // Every one delivered (Bob sees Alice's host ACK each), then the list holds only a screenful.
    const sender = bob;
    await expect
      .poll(async () => (await messagesWith(sender, alice!.userId)).filter((m) => m.text.startsWith('bulk ') && m.status === 'delivered').length, { timeout: 180_000 })
      .toBe(BULK);
    // Nobody scrolled: the list stuck to the bottom through the burst, and the rows on screen are
    // the newest ones in the order Bob wrote them, "bulk 400" last and fully in view.
    await expect.poll(() => visibleRows(page), WAIT).toEqual(expect.arrayContaining([`bulk ${BULK}`]));
    const onScreen = await visibleRows(page);
    expect(onScreen.at(-1)).toBe(`bulk ${BULK}`);
    const numbers = onScreen.map((t) => Number(t.replace('bulk ', '')));
    expect(numbers).toEqual(numbers.map((_, i) => BULK - numbers.length + 1 + i));
    const rendered = await page.locator('.message-row').count();
    expect(rendered).toBeGreaterThan(0);
    expect(rendered).toBeLessThan(80);
    await screenshot(page, 'resilience-long-conversation');

    // Bob dies without a goodbye: the UI counts reconnection attempts, then offers Retry.
    await bob.kill('SIGKILL');
    bob = null;
    const peerState = page.getByTestId(`peer-state-${bobId}`);
    await expect.poll(() => peerState.textContent(), WAIT).toMatch(/^Reconnecting \(attempt \d\)$/);
    await screenshot(page, 'resilience-reconnecting');
    await page.getByTestId(`retry-${bobId}`).waitFor({ timeout: 150_000 });
    // After the attempts run out, seed 004 goes FAILED → STORE_AND_FORWARD; both offer Retry.
    expect(await peerState.getAttribute('data-state')).toMatch(/^(FAILED|STORE_AND_FORWARD)$/);
    expect(await peerState.textContent()).toMatch(/^(Failed|Unreachable: messages wait until a path opens)$/);
    await screenshot(page, 'resilience-failed');

    // Written while Bob is away: accepted locally, not delivered.
    const input = page.getByTestId('composer-input');
    for (const text of ['while away 1', 'while away 2', 'while away 3']) {
      await input.fill(text);
      await input.press('Enter');
      await expect.poll(() => input.inputValue()).toBe('');
    }
    expect(await statusOf(page, 'while away 3')).not.toBe('delivered');

    // Retry from the keyboard starts a new round of attempts.
    // Every state the element passes through from here on, so a short-lived new attempt is seen too.
    await page.evaluate((testId) => {
      const el = document.querySelector(`[data-testid="${testId}"]`);
      const seen: string[] = [];
      (window as unknown as { seenStates: string[] }).seenStates = seen;
      if (el) new MutationObserver(() => seen.push(el.getAttribute('data-state') ?? '')).observe(el, { attributes: true, attributeFilter: ['data-state'] });
    }, `peer-state-${bobId}`);
    await page.getByTestId(`retry-${bobId}`).focus();
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { seenStates: string[] }).seenStates), WAIT)
      .toEqual(expect.arrayContaining([expect.stringMatching(/^(DISCOVERING|SIGNALING|RECONNECTING|CONNECTING)$/)]));

    // Bob comes back on the same profile: the three arrive once each, in order, and turn delivered.
    bob = await HeadlessPeer.start({ profile: bobProfile, broker: BROKER, name: 'Bob' });
    const restarted = bob;
    try {
      for (const text of ['while away 1', 'while away 2', 'while away 3']) {
        await expect.poll(() => statusOf(page, text), { timeout: 120_000 }).toBe('delivered');
      }
    } catch (err) {
      await screenshot(page, 'resilience-not-delivered');
      const seen = restarted.lines.filter((l) => l.event === 'connection' || l.event === 'message').slice(-10);
      throw new Error(`${(err as Error).message}\nAlice's peer state: ${await peerState.textContent()}\nBob's last events: ${JSON.stringify(seen)}\nAlice stderr: ${alice.stderr().slice(-1500)}`);
    }
    const received = (await messagesWith(bob, alice.userId)).filter((m) => m.text.startsWith('while away')).map((m) => m.text);
    expect(received).toEqual(['while away 1', 'while away 2', 'while away 3']);
    await screenshot(page, 'resilience-recovered');
  });
});
