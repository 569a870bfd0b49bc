/**
 * The selected ICE candidate pair, read from getStats() in both runtimes: Carol in web mode (the
 * mesh in Chromium reports it over mesh.report; her host puts it in the peer state the page gets
 * through the typed API; the network panel shows it) and Alice a headless peer (@roamhq/wrtc; the
 * `peers` op). On one machine both ends sit on host candidates; test/integration/nat covers the
 * srflx and relay cases behind real NATs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { openBroker, type TestBroker } from '../helpers/brokers';
import { eventually, HeadlessPeer, tempProfile as tempPeerProfile } from '../helpers/headless-peer';
import { ensureRendererBuilt, launchChromium, removeTempProfiles, startWeb, tempProfile, type WebInstance } from './support';

const WAIT = { timeout: 90_000 };

let browser: Browser;
let broker: TestBroker;
const running: WebInstance[] = [];
const peers: HeadlessPeer[] = [];

beforeAll(async () => {
  ensureRendererBuilt();
  browser = await launchChromium();
  broker = await openBroker('embedded');
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(running.map((w) => w.stop()));
  await Promise.all(peers.map((p) => p.quit()));
  await broker?.close();
  removeTempProfiles();
});

describe('candidate pair in the peer state', () => {
  it('Chromium (web mode) and wrtc (headless) both report the pair in use; the network panel shows it', { timeout: 300_000 }, async () => {
    const alice = await HeadlessPeer.start({ profile: tempPeerProfile('alice'), name: 'Alice', broker: broker.url, extraArgs: ['--mailbox', 'none'] });
    peers.push(alice);
    const carol = await startWeb({ profile: tempProfile('carol'), broker: broker.url, name: 'Carol', mailbox: 'none' });
    running.push(carol);
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(carol.url);
    await expect.poll(() => page.getByTestId('my-user-id').inputValue(), WAIT).toBe(carol.userId);

    await alice.signalingUp();
    await alice.ok({ op: 'contact.add', userId: carol.userId, name: 'Carol' });
    await page.getByTestId(`accept-${alice.userId}`).click(WAIT);
    await alice.waitFor((l) => l.event === 'contactAccepted' && l.userId === carol.userId, 90_000);

    type Pair = { local: { type: string; protocol: string }; remote: { type: string; protocol: string } };
    const fromAlice = await eventually(
      async () => ((await alice.ok({ op: 'peers' })).peers as { userId: string; state: string; candidatePair?: Pair }[]).find((p) => p.userId === carol.userId),
      (p) => p?.state === 'CONNECTED' && p.candidatePair !== undefined, 90_000,
    );
    expect(fromAlice?.candidatePair?.local).toMatchObject({ type: 'host', protocol: 'udp' });
    expect(['host', 'prflx']).toContain(fromAlice?.candidatePair?.remote.type);
    // the same pair was pushed as a `connection` event
    expect(alice.lines.some((l) => l.event === 'connection' && l.userId === carol.userId && (l.candidatePair as Pair | undefined)?.local.type === 'host')).toBe(true);

    await page.getByTestId(`contact-${alice.userId}`).click(WAIT);
    await page.getByTestId('network-button').click(WAIT);
    const shown = page.getByTestId('network-candidate-pair');
    await shown.waitFor(WAIT);
    // "host 127.0.0.1:PORT udp ↔ host …": Chromium's own pair, via mesh.report and the host's peer state
    await expect.poll(() => shown.textContent(), WAIT).toMatch(/^(host|prflx)\b.* udp ↔ (host|prflx)\b/);
  });
});
