/**
 * The offline-inbox story with Carol in web mode: a real `parley web` process driven through a
 * Chromium page, Alice a headless peer, a real broker and a real mailbox node. Alice writes 20
 * while Carol is away and quits; Carol opens Parley with Alice still offline and reads all 20,
 * once, in order; Alice, back online, sees them go from `stored` to `delivered`.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { openBroker, type TestBroker } from '../helpers/brokers';
import { eventually, HeadlessPeer, messagesWith, tempProfile as tempPeerProfile } from '../helpers/headless-peer';
import { TestCluster } from '../integration/mailbox/cluster';
import { ensureRendererBuilt, launchChromium, removeTempProfiles, screenshot, startWeb, tempProfile, type WebInstance } from './support';

const WAIT = { timeout: 90_000 };

let browser: Browser;
let broker: TestBroker;
let cluster: TestCluster;
const running: WebInstance[] = [];
const peers: HeadlessPeer[] = [];

beforeAll(async () => {
  ensureRendererBuilt();
  browser = await launchChromium();
  broker = await openBroker('embedded');
  cluster = await TestCluster.start({ size: 1 });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(running.map((w) => w.stop()));
  await Promise.all(peers.map((p) => p.quit()));
  await cluster?.stop();
  await broker?.close();
  removeTempProfiles();
});

async function openApp(web: WebInstance): Promise<Page> {
  // tall enough that the virtualized message list renders all 20 rows
  const page = await browser.newPage({ viewport: { width: 1100, height: 3000 } });
  await page.goto(web.url);
  await expect.poll(() => page.getByTestId('my-user-id').inputValue(), WAIT).toBe(web.userId);
  return page;
}

describe('offline inbox with Carol in web mode', () => {
  it('20 messages written while Carol was away appear once, in order, in her page; Alice sees stored then delivered', { timeout: 400_000 }, async () => {
    const seeds = cluster.seeds.join(',');
    const startAlice = async (profile: string): Promise<HeadlessPeer> => {
      const p = await HeadlessPeer.start({ profile, name: 'Alice', broker: broker.url, extraArgs: ['--mailbox', seeds] });
      peers.push(p);
      return p;
    };
    const profileA = tempPeerProfile('alice');
    const profileC = tempProfile('carol');
    let alice = await startAlice(profileA);
    let carol = await startWeb({ profile: profileC, broker: broker.url, name: 'Carol', mailbox: seeds });
    let page = await openApp(carol);

    await alice.signalingUp();
    await alice.ok({ op: 'contact.add', userId: carol.userId, name: 'Carol' });
    await page.getByTestId(`accept-${alice.userId}`).click(WAIT);
    await alice.waitFor((l) => l.event === 'contactAccepted' && l.userId === carol.userId, 90_000);
    await page.close();
    await carol.stop();
    running.splice(running.indexOf(carol), 1);
    await eventually(() => alice.ok({ op: 'contacts' }), (r) => (r.contacts as { presence: string }[])[0]?.presence === 'offline', 90_000);

    const want = Array.from({ length: 20 }, (_, i) => `left for you ${String(i).padStart(2, '0')}`);
    for (const text of want) await alice.ok({ op: 'send', to: carol.userId, text });
    await eventually(() => messagesWith(alice, carol.userId), (ms) => ms.filter((m) => m.status === 'stored').length === 20, 90_000);
    peers.splice(peers.indexOf(alice), 1);
    await alice.quit();

    carol = await startWeb({ profile: profileC, broker: broker.url, name: 'Carol', mailbox: seeds });
    running.push(carol);
    page = await openApp(carol);
    await page.getByTestId(`contact-${alice.userId}`).click(WAIT);
    const theirs = page.locator('[data-mine="false"]');
    // stored by Carol's host (its SQLite file, read-only), then shown in the page
    const inDb = (): number => {
      const db = new Database(join(profileC, 'parley.db'), { readonly: true, fileMustExist: true });
      try {
        return Number(db.prepare('SELECT COUNT(*) FROM messages WHERE sender = ?').pluck().get(alice.userId));
      } finally {
        db.close();
      }
    };
    await expect.poll(inDb, WAIT).toBe(20);
    await expect.poll(() => theirs.count(), WAIT).toBe(20);
    const shown = (await theirs.allTextContents()).map((t) => /left for you \d\d/.exec(t)?.[0]);
    expect(shown).toEqual(want);
    await screenshot(page, 'offline-inbox-carol');

    // Alice comes back; the channel opens and Carol's ACKs move every message to delivered
    alice = await startAlice(profileA);
    const delivered = await eventually(() => messagesWith(alice, carol.userId), (ms) => ms.filter((m) => m.status === 'delivered').length === 20, 180_000, 500);
    expect(delivered.map((m) => m.text)).toEqual(want);
    // still once each in Carol's page
    await expect.poll(() => theirs.count(), WAIT).toBe(20);
  });
});
