/**
 * Two people chat in web mode: two real `parley web` processes (two profiles) on the Mosquitto
 * broker, each driven through its own Chromium page, only through the UI.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { screenshot, tempProfile, unlabeledControls, webSuite } from './support';

const BROKER = process.env.PARLEY_TEST_BROKER ?? 'mqtt://127.0.0.1:1883';
const WAIT = { timeout: 60_000 };

const suite = webSuite();

function ownMessage(page: Page, text: string) {
  return page.locator('[data-mine="true"]', { hasText: text });
}

async function sendByKeyboard(page: Page, text: string): Promise<void> {
  const input = page.getByTestId('composer-input');
  await input.fill(text);
  await input.press('Enter');
  await expect.poll(() => input.inputValue()).toBe('');
}

describe('two profiles chat in web mode', () => {
  it('add each other, accept, exchange messages, see delivered', { timeout: 240_000 }, async () => {
    const alice = await suite.start({ profile: tempProfile('alice'), broker: BROKER, name: 'Alice' });
    const bob = await suite.start({ profile: tempProfile('bob'), broker: BROKER, name: 'Bob' });
    const pa = await suite.openApp(alice);
    const pb = await suite.openApp(bob);

    // Alice sends a request, from the keyboard.
    await pa.getByTestId('add-contact-button').click();
    await pa.getByTestId('add-contact-input').fill(bob.userId);
    await pa.getByTestId('add-contact-name').fill('Bob');
    await pa.getByTestId('add-contact-input').press('Enter');
    await pa.getByTestId(`outgoing-${bob.userId}`).waitFor(WAIT);

    // Bob sees it as a pending request and accepts.
    await pb.getByTestId(`request-${alice.userId}`).waitFor(WAIT);
    await screenshot(pb, 'chat-request');
    await pb.getByTestId(`accept-${alice.userId}`).click();
    // Answering the request retracts the notice about it.
    await expect.poll(() => pb.getByText('wants to add you as a contact').count(), WAIT).toBe(0);

    // Both now list each other as contacts; each opens the chat.
    await pa.getByTestId(`contact-${bob.userId}`).click(WAIT);
    await pb.getByTestId(`contact-${alice.userId}`).click(WAIT);

    await sendByKeyboard(pa, 'Hello Bob, this is Alice');
    await expect.poll(() => ownMessage(pa, 'Hello Bob').getByTestId(/^message-status-/).getAttribute('data-status'), WAIT).toBe('delivered');
    await pb.locator('[data-mine="false"]', { hasText: 'Hello Bob, this is Alice' }).waitFor(WAIT);

    await sendByKeyboard(pb, 'Hi Alice! Bob here.');
    await expect.poll(() => ownMessage(pb, 'Bob here').getByTestId(/^message-status-/).getAttribute('data-status'), WAIT).toBe('delivered');
    await pa.locator('[data-mine="false"]', { hasText: 'Hi Alice! Bob here.' }).waitFor(WAIT);
    expect(await ownMessage(pb, 'Bob here').textContent()).toContain('delivered ✓✓');

    // With both chats open, each sees the other as present.
    await expect.poll(() => pa.getByTestId(`presence-${bob.userId}`).getAttribute('data-presence'), WAIT).not.toBe('offline');
    await expect.poll(() => pb.getByTestId(`presence-${alice.userId}`).getAttribute('data-presence'), WAIT).not.toBe('offline');

    // Order and de-duplication survive a burst.
    for (let i = 1; i <= 5; i++) await sendByKeyboard(pa, `burst ${i}`);
    await expect.poll(() => pb.locator('[data-mine="false"]', { hasText: /^burst \d/ }).allTextContents(), WAIT)
      .toEqual([1, 2, 3, 4, 5].map((i) => expect.stringContaining(`burst ${i}`)));
    await expect.poll(async () => (await pa.locator('[data-status="delivered"]').count()), WAIT).toBe(6);

    // Every control in the full chat screen has an accessible name.
    expect(await unlabeledControls(pa)).toEqual([]);
    expect(await unlabeledControls(pb)).toEqual([]);

    await screenshot(pa, 'chat-alice');
    await screenshot(pb, 'chat-bob');
  });
});
