/**
 * The find-anyone cases with Alice as a web-mode page in Chromium (`parley web`, the mesh and the
 * discovery chain running in the page, its host steps over the token-guarded API), Bob and Carol
 * headless: through Bob's PEER_FOUND, through the registry with Bob gone, then the cached route.
 * Alice is driven only through her UI; her host's trace is read beside it over the same API.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { RouteTrace } from '../../../src/shared/discovery';
import { tempProfile as tempWebProfile, webSuite, type WebInstance } from '../../e2e/support';
import { eventually, messagesWith, type HeadlessPeer } from '../../helpers/headless-peer';
import { connectWebApi } from '../../helpers/web-api';
import {
  befriendSlowly, DISCOVERY_ENV, reachArgs, signalAddrsOf, SLOW_MS, startRolePeer,
  reachSuite,
} from '../../helpers/discovery-trio';

const WAIT = { timeout: SLOW_MS };
const suite = webSuite();
const reach = reachSuite();
const { running } = reach;

/** Alice: a web-mode instance on the broker only (no signal server of her own), on the registry. */
function startAlice(profile = tempWebProfile('disc-alice')): Promise<WebInstance> {
  const { broker, extraArgs } = reachArgs(reach.servers, 'mqtt-only');
  return suite.start({ profile, broker, name: 'Alice', extraArgs, env: DISCOVERY_ENV });
}

/** A headless peer asks Alice; she accepts in her page. */
async function acceptFrom(page: Page, alice: WebInstance, peer: HeadlessPeer): Promise<void> {
  await peer.ok({ op: 'contact.add', userId: alice.userId, name: 'Alice' }, SLOW_MS);
  await page.getByTestId(`request-${peer.userId}`).waitFor(WAIT);
  await page.getByTestId(`accept-${peer.userId}`).click();
  await peer.waitFor((l) => l.event === 'contactAccepted' && l.userId === alice.userId, SLOW_MS);
  await peer.waitFor((l) => l.event === 'connection' && l.userId === alice.userId && l.state === 'CONNECTED', SLOW_MS);
}

/** Alice adds Carol from her page; Carol (headless) accepts. */
async function addFromPage(page: Page, alice: WebInstance, carol: HeadlessPeer): Promise<void> {
  await page.getByTestId('add-contact-button').click();
  await page.getByTestId('add-contact-input').fill(carol.userId);
  await page.getByTestId('add-contact-name').fill('Carol');
  await page.getByTestId('add-contact-input').press('Enter');
  await carol.waitFor((l) => l.event === 'contactRequest' && l.userId === alice.userId, SLOW_MS);
  await carol.ok({ op: 'contact.accept', userId: alice.userId }, SLOW_MS);
}

/** Alice opens the chat and the network panel; resolves with the step the panel says found Carol. */
async function panelStep(page: Page, carol: HeadlessPeer): Promise<string | null> {
  await page.getByTestId(`contact-${carol.userId}`).click(WAIT);
  if (!(await page.getByTestId('network-panel').isVisible())) await page.getByTestId('network-button').click();
  await expect.poll(() => page.getByTestId('network-path').getAttribute('data-path'), WAIT).toBe('direct');
  return page.getByTestId('network-found-by').getAttribute('data-step');
}

/** Her host's trace of the attempt that connected (what the panel shows), over the API. */
async function connectedTrace(alice: WebInstance, carol: HeadlessPeer): Promise<RouteTrace> {
  const api = await connectWebApi(alice.url);
  try {
    const { trace } = await eventually(() => api.call('route.get', { userId: carol.userId }), (r) => r.trace?.result === 'connected', SLOW_MS, 300);
    return trace!;
  } finally {
    api.close();
  }
}

/** Alice types to Carol and sees delivered; Carol answers and Alice's page shows it. */
async function chatBothWays(page: Page, carol: HeadlessPeer, alice: WebInstance, tag: string): Promise<void> {
  const input = page.getByTestId('composer-input');
  await input.fill(`hello Carol (${tag})`);
  await input.press('Enter');
  const mine = page.locator('[data-mine="true"]', { hasText: `hello Carol (${tag})` });
  await expect.poll(() => mine.getByTestId(/^message-status-/).getAttribute('data-status'), WAIT).toBe('delivered');
  await eventually(() => messagesWith(carol, alice.userId), (ms) => ms.some((m) => m.text === `hello Carol (${tag})`), SLOW_MS, 300);
  const { id } = await carol.ok({ op: 'send', to: alice.userId, text: `hi Alice (${tag})` }) as { id: string } & Record<string, unknown>;
  await page.locator('[data-mine="false"]', { hasText: `hi Alice (${tag})` }).waitFor(WAIT);
  await eventually(() => messagesWith(carol, alice.userId), (ms) => ms.find((m) => m.id === id)?.status === 'delivered', SLOW_MS, 300);
}

describe('Alice in a web page (MQTT only) reaches Carol (WebSocket only)', () => {
  it('through Bob\'s PEER_FOUND naming Carol\'s signal server', { timeout: 420_000 }, async () => {
    const alice = await startAlice();
    const b = await startRolePeer(reach.servers, 'bob', 'both');
    const c = await startRolePeer(reach.servers, 'carol', 'ws-only');
    running.push(b, c);
    const page = await suite.openApp(alice, undefined, SLOW_MS);
    await acceptFrom(page, alice, b);
    await befriendSlowly(c, b);
    const [carolAddr] = await signalAddrsOf(c);

    await addFromPage(page, alice, c);
    expect(await panelStep(page, c)).toBe('peers');
    const trace = await connectedTrace(alice, c);
    expect(trace.winner).toBe('peers');
    expect(trace.route).toMatchObject({ signalAddr: carolAddr, via: b.userId });
    expect(trace.steps.map((s) => [s.step, s.outcome])).toEqual([['active', 'none'], ['cache', 'none'], ['peers', 'found']]);
    await expect.poll(() => page.getByTestId('network-step-peers').getAttribute('data-outcome'), WAIT).toBe('found');
    await chatBothWays(page, c, alice, 'via Bob');
  });

  it('with Bob stopped, through the registry; after a restart, the cached route', { timeout: 420_000 }, async () => {
    const profile = tempWebProfile('disc-alice');
    const alice = await startAlice(profile);
    const b = await startRolePeer(reach.servers, 'bob', 'both');
    const c = await startRolePeer(reach.servers, 'carol', 'ws-only');
    running.push(c);
    const page = await suite.openApp(alice, undefined, SLOW_MS);
    await acceptFrom(page, alice, b);
    await befriendSlowly(c, b);
    const [carolAddr] = await signalAddrsOf(c);
    await b.quit();

    await addFromPage(page, alice, c);
    expect(await panelStep(page, c)).toBe('registry');
    const first = await connectedTrace(alice, c);
    expect(first.route).toMatchObject({ signalAddr: carolAddr, via: reach.servers.registry });
    await chatBothWays(page, c, alice, 'via the registry');

    // Alice quits and comes back: her page's chain takes the route it cached.
    await page.close();
    await suite.stop(alice);
    const again = await startAlice(profile);
    const page2 = await suite.openApp(again, undefined, SLOW_MS);
    expect(await panelStep(page2, c)).toBe('cache');
    const second = await connectedTrace(again, c);
    expect(second.winner).toBe('cache');
    expect(second.route?.signalAddr).toBe(carolAddr);
    await chatBothWays(page2, c, again, 'cached route');
  });
});
