/**
 * What users see of discovery, in a real `parley web` page in Chromium: the network panel with a
 * real connection's path and the chain step that found it, the signal server / registry /
 * network id settings (refused when wrong, applied live where they can be, kept over a reload),
 * and notices that retract when they stop applying ("Contact request sent" goes once Bob accepts).
 * Alice is the page; Bob a headless peer; both on Mosquitto; a real `parley server --signal`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { DISCOVERY_STEPS } from '../../src/shared/discovery';
import { HeadlessPeer, waitConnected } from '../helpers/headless-peer';
import { startServerProcess, type ServerProcess } from '../helpers/parley-server';
import { screenshot, tempProfile, webSuite } from './support';

const BROKER = process.env.PARLEY_TEST_BROKER ?? 'mqtt://127.0.0.1:1883';
const WAIT = { timeout: 90_000 };
const suite = webSuite();

let server: ServerProcess | null = null;
let bob: HeadlessPeer | null = null;

beforeAll(async () => {
  server = await startServerProcess(['--mqtt', '0', '--signal', '0', '--registry', '0', '--network', 'parley,e2e-net']);
}, 90_000);

afterAll(async () => {
  await bob?.quit();
  await server?.stop();
});

const noticesWithTopic = (page: Page, topic: string) => page.locator(`.notice[data-topic="${topic}"]`);

describe('network panel, reach settings and notices in web mode', () => {
  it('shows the path and step of a real connection, round-trips the settings, and retracts the request notice on accept', { timeout: 420_000 }, async () => {
    const signal = String(server!.ready.signal);
    const registry = String(server!.ready.registry);
    const alice = await suite.start({ profile: tempProfile('net-alice'), broker: BROKER, name: 'Alice' });
    const bobProfile = tempProfile('net-bob');
    bob = await HeadlessPeer.start({ profile: bobProfile, broker: BROKER, name: 'Bob' });
    const bobId = bob.userId;
    let page = await suite.openApp(alice);
    await expect.poll(() => page.getByTestId('signaling-state').getAttribute('data-state'), WAIT).toBe('connected');

    // Alice asks Bob in the UI: the notice says so and stays while he has not answered.
    await page.getByTestId('add-contact-button').click();
    await page.getByTestId('add-contact-input').fill(bobId);
    await page.getByTestId('add-contact-submit').click();
    const sent = noticesWithTopic(page, `sent:${bobId}`);
    await expect.poll(() => sent.count(), WAIT).toBe(1);
    expect(await sent.textContent()).toContain('Contact request sent');
    await bob.waitFor((l) => l.event === 'contactRequest' && l.userId === alice.userId, 90_000);
    // Still there while Bob has not answered (no timer takes it away: only his answer does).
    await page.getByTestId(`outgoing-${bobId}`).waitFor(WAIT);
    expect(await sent.count()).toBe(1);
    await screenshot(page, 'network-request-sent');

    await bob.ok({ op: 'contact.accept', userId: alice.userId });
    await page.getByTestId(`contact-${bobId}`).waitFor(WAIT);
    await expect.poll(() => sent.count(), WAIT).toBe(0);

    // A real connection, then the panel: path in words, the step that found it, every step's row.
    await page.getByTestId(`contact-${bobId}`).click();
    await waitConnected(bob, alice.userId, 120_000);
    await page.getByTestId('network-button').click();
    const panel = page.getByTestId('network-panel');
    await expect.poll(() => panel.getByTestId('network-path').getAttribute('data-path'), WAIT).toBe('direct');
    expect(await panel.getByTestId('network-path').textContent()).toMatch(/^Direct: a peer-to-peer connection/);
    const foundBy = panel.getByTestId('network-found-by');
    // Both sides call on accept; whoever's offer won, the panel says which in words.
    await expect.poll(() => foundBy.getAttribute('data-step'), WAIT).toMatch(new RegExp(`^(peer-called|${DISCOVERY_STEPS.join('|')})$`));
    if ((await foundBy.getAttribute('data-step')) === 'peer-called') expect(await foundBy.textContent()).toMatch(/^They connected to us/);
    await screenshot(page, 'network-panel-first');

    // Bob goes away and comes back. Usually Alice's own chain finds him (his presence on the broker
    // we share, or the route cached from the first connection) and the attempt ends connected. When
    // his restart takes long (a loaded machine), her search has ended in store and forward before
    // he is back, and his call is the one that connects: the panel then says they connected to us.
    await bob.kill('SIGKILL');
    await expect.poll(() => panel.getByTestId('network-path').getAttribute('data-path'), WAIT).toBe('none');
    bob = await HeadlessPeer.start({ profile: bobProfile, broker: BROKER, name: 'Bob' });
    await waitConnected(bob, alice.userId, 180_000);
    const attempt = panel.getByTestId('network-attempt');
    const settled = async (): Promise<boolean> => (await foundBy.getAttribute('data-step')) === 'peer-called'
      || ((await attempt.count()) > 0 && (await attempt.getAttribute('data-result')) === 'connected');
    await expect.poll(settled, { timeout: 180_000 }).toBe(true);
    await expect.poll(() => panel.getByTestId('network-path').getAttribute('data-path'), WAIT).toBe('direct');
    expect(await panel.getByTestId('network-path').textContent()).toMatch(/^Direct: a peer-to-peer connection/);
    const step = (await foundBy.getAttribute('data-step'))!;
    if (step === 'peer-called') {
      console.log('web-network: after the restart, Bob\'s call connected first (Alice\'s search had ended in store and forward)');
      expect(await foundBy.textContent()).toMatch(/^They connected to us \(our own last search: /);
      expect(await attempt.count()).toBe(0);
    } else {
      expect(['active', 'cache']).toContain(step);
      expect(await foundBy.textContent()).toMatch(/^(active connection|cached route)/);
      expect(await attempt.textContent()).toMatch(/^Last attempt: connected, channel open after \d+ ms$/);
      // The winning step's row says found, with its time against its budget; the rows before it ran and found nothing.
      const winnerRow = panel.getByTestId(`network-step-${step}`);
      expect(await winnerRow.getAttribute('data-outcome')).toBe('found');
      expect(await winnerRow.textContent()).toMatch(/\d+ ms of \d+ ms.*found/);
      for (const earlier of DISCOVERY_STEPS.slice(0, DISCOVERY_STEPS.indexOf(step as (typeof DISCOVERY_STEPS)[number]))) {
        expect(await panel.getByTestId(`network-step-${earlier}`).getAttribute('data-outcome')).toMatch(/^(none|timeout|error|skipped)$/);
      }
      for (const later of DISCOVERY_STEPS.slice(DISCOVERY_STEPS.indexOf(step as (typeof DISCOVERY_STEPS)[number]) + 1)) {
        expect(await panel.getByTestId(`network-step-${later}`).getAttribute('data-outcome')).toBe('not tried');
      }
    }
    // The broker Alice is attached to, in words.
    const servers = panel.getByTestId('network-server');
    await expect.poll(() => servers.count(), WAIT).toBe(1);
    expect(await servers.first().getAttribute('data-state')).toBe('connected');
    expect(await servers.first().textContent()).toContain(BROKER);
    await screenshot(page, 'network-panel-direct');

    // Settings: a wrong signal server URL is refused with a reason, nothing is saved.
    await page.getByTestId('settings-button').click();
    await page.getByTestId('settings-signal').fill('http://127.0.0.1:1');
    await page.getByTestId('settings-save').click();
    expect(await page.getByTestId('settings-error').textContent()).toMatch(/Signal server "http:\/\/127.0.0.1:1": must be a signal server URL/);
    await page.getByTestId('settings-network').fill('two words');
    await page.getByTestId('settings-signal').fill(signal);
    await page.getByTestId('settings-save').click();
    expect(await page.getByTestId('settings-error').textContent()).toMatch(/^Network id: 1 to 64/);

    // Good values: saved, and in use at once: the open panel shows the signal server attached and
    // the registry announced on the new network, live.
    await page.getByTestId('settings-network').fill('e2e-net');
    await page.getByTestId('settings-registry').fill(registry);
    await page.getByTestId('settings-save').click();
    await page.getByTestId('settings-dialog').locator('form').waitFor({ state: 'detached', ...WAIT });
    const saved = noticesWithTopic(page, 'settings-saved');
    await expect.poll(() => saved.count(), WAIT).toBe(1);
    expect(await saved.locator('span').textContent()).toBe('Settings saved.');
    const wsServer = panel.locator(`[data-testid="network-server"][data-kind="WebSocket signal server"]`);
    await expect.poll(() => wsServer.getAttribute('data-state'), WAIT).toBe('connected');
    expect(await wsServer.textContent()).toContain(signal);
    await expect.poll(() => panel.getByTestId('network-registry').textContent(), WAIT).toBe(`Registry: ${registry}, network e2e-net: announced`);
    await screenshot(page, 'network-panel-signal-attached');

    // Over a reload the form shows what was saved (the host's stored settings).
    await page.close();
    page = await suite.openApp(alice);
    await page.getByTestId('settings-button').click();
    expect(await page.getByTestId('settings-signal').inputValue()).toBe(signal);
    expect(await page.getByTestId('settings-registry').inputValue()).toBe(registry);
    expect(await page.getByTestId('settings-network').inputValue()).toBe('e2e-net');
    expect(await page.getByTestId('settings-restart-hint').textContent()).toContain('take effect the next time Parley starts');
    // A change that needs a restart is said so plainly when saved.
    await page.getByTestId('settings-ice').fill('stun:127.0.0.1:3478');
    await page.getByTestId('settings-save').click();
    const restart = noticesWithTopic(page, 'settings-saved');
    await expect.poll(() => restart.count(), WAIT).toBe(1);
    expect(await restart.locator('span').textContent()).toBe('Settings saved. Restart Parley for the new ICE servers to take effect; everything else applies now.');
    await screenshot(page, 'network-settings-reloaded');
  });
});
