/**
 * Web mode end to end: real `parley web` process, real host, Debian Chromium. The page must show
 * the same userId the headless peer reports for the same profile.
 */
import { describe, expect, it } from 'vitest';
import { headlessWhoami, screenshot, tempProfile, webSuite } from './support';

const suite = webSuite();

describe('web mode in Chromium', () => {
  it('shows the userId that whoami reports for the same profile, and the connection status', async () => {
    const profile = tempProfile('web-id');
    const who = await headlessWhoami(profile);
    expect(who.userId).toMatch(/^[0-9a-f]{64}$/);

    const web = await suite.start({ profile });
    expect(web.userId).toBe(who.userId);

    const page = await suite.browser.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(web.url);

    await expect.poll(() => page.getByTestId('my-user-id').inputValue(), { timeout: 30_000 }).toBe(who.userId);
    await expect.poll(() => page.getByTestId('my-name').textContent()).toBe(who.name);
    expect(await page.getByTestId('signaling-state').getAttribute('data-state')).toMatch(/^(connecting|connected|reconnecting|offline)$/);
    expect(await page.getByTestId('contacts-empty').isVisible()).toBe(true);
    // The token moved out of the address bar into this tab's session storage.
    expect(page.url()).not.toContain('token=');
    await screenshot(page, 'web-identity');
    expect(consoleErrors).toEqual([]);

    // Keyboard: the add-contact dialog opens, explains a bad userId, and Escape closes it.
    await page.getByTestId('add-contact-button').focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('add-contact-input').fill('not-a-user-id');
    await page.keyboard.press('Enter');
    expect(await page.getByTestId('add-contact-error').textContent()).toContain('64 characters');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('add-contact-dialog').evaluate((d) => (d as HTMLDialogElement).open)).toBe(false);

    // Settings: a bad broker URL is explained; a new display name is saved and shown.
    await page.getByTestId('settings-button').click();
    await page.getByTestId('settings-broker').fill('http://wrong');
    await page.getByTestId('settings-save').click();
    expect(await page.getByTestId('settings-error').textContent()).toContain('mqtt://');
    const settingsBefore = await page.getByTestId('settings-broker').inputValue();
    expect(settingsBefore).toBe('http://wrong');
    await page.keyboard.press('Escape');
    await page.getByTestId('settings-button').click();
    await page.getByTestId('settings-name').fill('Renamed In Browser');
    await page.getByTestId('settings-name').press('Enter');
    await expect.poll(() => page.getByTestId('my-name').textContent(), { timeout: 30_000 }).toBe('Renamed In Browser');
    await page.close();
  });

  it('tells the user what to do when the token in the URL is wrong', async () => {
    const web = await suite.start({ profile: tempProfile('web-bad-token') });
    const page = await suite.browser.newPage();
    await page.goto(web.url.replace(/#token=.*/, '#token=0000'));
    const banner = page.getByTestId('transport-error');
    await banner.waitFor({ timeout: 30_000 });
    expect(await banner.textContent()).toContain('parley web');
    await screenshot(page, 'web-bad-token');
    await page.close();
  });
});
