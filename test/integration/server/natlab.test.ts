/**
 * Chat across machines on Parley's own server: `parley server --host 198.18.0.1` in the public
 * namespace (broker + registry), headless peers in two homes behind real NATs (network namespaces
 * + iptables), and web mode: `parley web` and Chromium together in one home. Nobody is given ICE
 * servers: STUN and TURN come from the server's config through the registry's `GET /ice`, with
 * coturn `use-auth-secret` credentials per user. With cone NATs STUN is enough; with h2 behind a
 * symmetric NAT only TURN works (measured in shared/natlab), so coturn carries those calls.
 * Skipped with the reason where namespaces can't be made.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoturn, type Coturn } from '../../helpers/coturn';
import { HeadlessPeer, befriend, messagesWith, tempProfile } from '../../helpers/headless-peer';
import { NatLab, natlabUnavailable, PUBLIC_IP, type NatVariant } from '../../helpers/natlab';
import { startServerProcess, type ServerProcess } from '../../helpers/parley-server';
import { CHROMIUM_PATH, ensureRendererBuilt, launchChromium, startWeb, tempProfile as tempWebProfile, type WebInstance } from '../../e2e/support';

const unavailable = natlabUnavailable();
if (unavailable) console.warn(`natlab test skipped: ${unavailable}`);

const SECRET = 'natlab-shared-turn-secret';
const REGISTRY = `http://${PUBLIC_IP}:8886`;
const WAIT = { timeout: 120_000 };

describe.skipIf(unavailable !== null).each<NatVariant>(['cone', 'symmetric'])('across NATs (%s) through parley server on 198.18.0.1', (variant) => {
  let lab: NatLab;
  let server: ServerProcess;
  let turn: Coturn;
  let browser: Browser | undefined;
  let alice: HeadlessPeer;
  const peers: HeadlessPeer[] = [];
  const webs: WebInstance[] = [];

  const startPeer = async (name: string, home: 'h1' | 'h2'): Promise<HeadlessPeer> => {
    const p = await HeadlessPeer.start({
      profile: tempProfile(`nat-${name}`),
      name,
      broker: String(server.ready.mqtt),
      // No --ice: the server hands out STUN and TURN.
      extraArgs: ['--registry', REGISTRY, '--mailbox', 'none'],
      wrap: ['ip', 'netns', 'exec', lab.ns(home)],
    });
    peers.push(p);
    return p;
  };
  /** coturn saw an allocation made with this user's REST credentials (`EXPIRY:userId`). */
  const allocatedFor = (userId: string): boolean => new RegExp(`user <\\d+:${userId}>: .*ALLOCATE processed, success`).test(turn.log());

  beforeAll(async () => {
    lab = new NatLab(variant);
    lab.up();
    turn = await startCoturn({
      secret: SECRET, ip: PUBLIC_IP, extraIps: ['198.18.0.2'], port: 3478, relayPorts: [49160, 49400],
      wrap: ['ip', 'netns', 'exec', lab.ns('pub')],
    });
    const config = join(lab.dir, 'server.yaml');
    writeFileSync(config, [
      'iceServers:',
      `  - urls: "stun:${PUBLIC_IP}:3478"`,
      'turn:',
      `  urls: ["turn:${PUBLIC_IP}:3478?transport=udp", "turn:${PUBLIC_IP}:3478?transport=tcp"]`,
      `  secret: ${SECRET}`,
      '  ttlSeconds: 900',
      '',
    ].join('\n'));
    // Fixed ports are private to the namespace, so they can't collide with anything on the host.
    server = await startServerProcess(
      ['--host', PUBLIC_IP, '--mqtt', '1883', '--mqtt-ws', '9001', '--registry', '8886', '--config', config, '--log-level', 'warn'],
      {}, 60_000, ['ip', 'netns', 'exec', lab.ns('pub')],
    );
    alice = await startPeer('alice', 'h1');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(webs.splice(0).map((w) => w.stop()));
    await Promise.all(peers.splice(0).map((p) => p.quit()));
    await server?.stop();
    await turn?.stop();
    lab?.down();
  }, 60_000);

  it('headless: contacts, chat both ways, delivered', async () => {
    expect(server.ready.mqtt).toBe(`mqtt://${PUBLIC_IP}:1883`);
    expect(server.ready.registry).toBe(REGISTRY);
    const bob = await startPeer('bob', 'h2');
    await befriend(alice, bob);
    const hello = String((await alice.ok({ op: 'send', to: bob.userId, text: `hello across ${variant} NATs` })).id);
    const reply = String((await bob.ok({ op: 'send', to: alice.userId, text: 'hi back' })).id);
    await bob.waitFor((l) => l.event === 'message' && l.id === hello, 60_000);
    await alice.waitFor((l) => l.event === 'message' && l.id === reply, 60_000);
    await alice.waitFor((l) => l.event === 'status' && l.id === hello && l.status === 'delivered', 60_000);
    await bob.waitFor((l) => l.event === 'status' && l.id === reply && l.status === 'delivered', 60_000);
    expect((await messagesWith(bob, alice.userId)).map((m) => m.text).sort()).toEqual([`hello across ${variant} NATs`, 'hi back'].sort());
    // Both got TURN credentials of their own from the server, and coturn took them.
    expect(allocatedFor(alice.userId)).toBe(true);
    expect(allocatedFor(bob.userId)).toBe(true);
  }, 240_000);

  it('web mode: parley web and Chromium in h2, a headless peer in h1: contacts, chat both ways, delivered', async () => {
    ensureRendererBuilt();
    const home = lab.ns('h2');
    const carol = await startWeb({
      profile: tempWebProfile('nat-carol'), name: 'Carol', broker: String(server.ready.mqtt),
      extraArgs: ['--registry', REGISTRY, '--mailbox', 'none'], wrap: ['ip', 'netns', 'exec', home],
    });
    webs.push(carol);
    // Chromium in the same namespace (Playwright drives it over a pipe, so no port has to cross).
    const wrapper = join(lab.dir, 'chromium-in-h2.sh');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${home} ${CHROMIUM_PATH} "$@"\n`);
    chmodSync(wrapper, 0o755);
    browser = await launchChromium(wrapper);
    const page: Page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
    await page.goto(carol.url);
    await expect.poll(() => page.getByTestId('my-user-id').inputValue(), WAIT).toBe(carol.userId);

    await alice.ok({ op: 'contact.add', userId: carol.userId, name: 'Carol' });
    await page.getByTestId(`accept-${alice.userId}`).click(WAIT);
    await alice.waitFor((l) => l.event === 'contactAccepted' && l.userId === carol.userId, 90_000);
    await alice.waitFor((l) => l.event === 'connection' && l.userId === carol.userId && l.state === 'CONNECTED', 120_000);
    await page.getByTestId(`contact-${alice.userId}`).click(WAIT);

    const input = page.getByTestId('composer-input');
    await input.fill(`from Chromium behind a ${variant} NAT`);
    await input.press('Enter');
    const mine = page.locator('[data-mine="true"]', { hasText: `from Chromium behind a ${variant} NAT` });
    await expect.poll(() => mine.getByTestId(/^message-status-/).getAttribute('data-status'), WAIT).toBe('delivered');
    await alice.waitFor((l) => l.event === 'message' && l.from === carol.userId && l.text === `from Chromium behind a ${variant} NAT`, 60_000);

    const back = String((await alice.ok({ op: 'send', to: carol.userId, text: 'hello web' })).id);
    await page.locator('[data-mine="false"]', { hasText: 'hello web' }).waitFor(WAIT);
    await alice.waitFor((l) => l.event === 'status' && l.id === back && l.status === 'delivered', 60_000);
    expect((await messagesWith(alice, carol.userId)).filter((m) => m.text === 'hello web')).toHaveLength(1);
    // The page's RTCPeerConnection got Carol's own TURN credentials from the server (via the host).
    expect(allocatedFor(carol.userId)).toBe(true);
  }, 300_000);
});
