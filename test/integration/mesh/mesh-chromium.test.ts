/**
 * The same mesh code in Chromium (the renderer's runtime): bundled for the browser with no Node
 * shims, glare rounds inside one page, and a Chromium mesh talking to a Node (@roamhq/wrtc) mesh.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignalKind } from '../../../src/renderer/mesh';
import { MemorySignalingBus } from '../../../src/renderer/mesh/memory-signaling';
import { ALICE, BOB, type TestPeer, livePeerConnections, startPeer, stopPeer, waitFor } from './harness';

const CHROMIUM = process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let browser: Browser;
let page: Page;

/** The mesh as the renderer gets it: bundled for the browser platform, exposed as window.ParleyMesh. */
async function meshBundle(): Promise<string> {
  const entry = fileURLToPath(new URL('../../../src/renderer/mesh/index.ts', import.meta.url));
  const out = await build({ entryPoints: [entry], bundle: true, write: false, platform: 'browser', format: 'iife', globalName: 'ParleyMesh', target: 'chrome120', logLevel: 'silent' });
  const file = out.outputFiles[0];
  if (!file) throw new Error('esbuild produced nothing');
  return file.text;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set PARLEY_CHROMIUM)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
  page = await browser.newPage();
  await page.goto('about:blank');
  await page.addScriptTag({ content: await meshBundle() });
});

afterAll(async () => {
  await browser?.close();
});

describe('mesh in Chromium', () => {
  it('glare inside one page: exactly one working connection, 20 times', async () => {
    const results = await page.evaluate(async ({ alice, bob }) => {
      type M = InstanceType<typeof ParleyMeshGlobal.Mesh>;
      const { Mesh, MemorySignalingBus: Bus } = (window as unknown as { ParleyMesh: typeof ParleyMeshGlobal }).ParleyMesh;
      const out: { frames: string[]; pcs: number; live: number; rollbacks: number; rejected: number; retries: number }[] = [];
      for (let round = 0; round < 20; round++) {
        const bus = new Bus();
        const pcs: RTCPeerConnection[] = [];
        class Tracked extends RTCPeerConnection {
          constructor(c?: RTCConfiguration) { super(c); pcs.push(this); }
        }
        // Glare is the subject: a loaded CI machine must not turn a slow ICE check into a retry (a
        // third connection), so the attempt timeout and grace are far beyond any round's length.
        const slow = { connectTimeoutMs: 120_000, disconnectGraceMs: 120_000 };
        const a: M = new Mesh({ selfId: alice, RTCPeerConnection: Tracked, signaling: bus.endpoint(alice), ...slow });
        const b: M = new Mesh({ selfId: bob, RTCPeerConnection: Tracked, signaling: bus.endpoint(bob), ...slow });
        bus.attach(alice, a);
        bus.attach(bob, b);
        const frames: string[] = [];
        a.on('frame', (_f: string, x: string) => frames.push(x));
        b.on('frame', (_f: string, x: string) => frames.push(x));
        const opened = Promise.all([a, b].map((m) => new Promise<void>((r) => m.on('open', () => r()))));
        bus.pause();
        a.connect(bob);
        b.connect(alice);
        await new Promise((r) => setTimeout(r, 30));
        bus.resume();
        await Promise.race([opened, new Promise((_, rej) => setTimeout(() => rej(new Error(`round ${round} timed out`)), 90_000))]);
        a.send(bob, `a${round}`);
        b.send(alice, `b${round}`);
        const t0 = Date.now();
        while (frames.length < 2 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 5));
        out.push({
          frames: [...frames].sort(), pcs: pcs.length, live: pcs.filter((p) => p.signalingState !== 'closed').length,
          rollbacks: a.stats().glareRollbacks, rejected: a.stats().signalsRejected + b.stats().signalsRejected,
          retries: a.stats().connectionsLost + b.stats().connectionsLost,
        });
        a.close();
        b.close();
      }
      return out;
    }, { alice: ALICE, bob: BOB });
    expect(results).toHaveLength(20);
    results.forEach((r, round) => {
      expect(r.frames).toEqual([`a${round}`, `b${round}`]);
      expect(r.retries, `round ${round}: a connection was lost and retried`).toBe(0);
      expect(r.pcs, `round ${round}: ${JSON.stringify(r)}`).toBe(2);
      expect(r.live).toBe(2);
      expect(r.rollbacks).toBe(1);
      expect(r.rejected).toBe(0);
    });
  });

  it('a Chromium mesh and a Node (@roamhq/wrtc) mesh connect in glare and exchange frames', async () => {
    // Node side: Bob on a bus whose "Alice" is the page.
    const bus = new MemorySignalingBus();
    bus.attach(ALICE, {
      handleSignal: async (from: string, kind: SignalKind, payload: unknown) => {
        await page.evaluate(([f, k, p]) => (window as unknown as { pageMesh: { handleSignal(f: string, k: string, p: unknown): Promise<void> } }).pageMesh.handleSignal(f, k, p), [from, kind, payload] as const);
      },
    });
    const bob: TestPeer = startPeer(bus, BOB);
    await page.exposeFunction('toNode', (to: string, kind: SignalKind, payload: unknown) => {
      bus.inject({ from: ALICE, to, kind, payload });
    });
    try {
      await page.evaluate((bobId) => {
        const w = window as unknown as { ParleyMesh: typeof ParleyMeshGlobal; pageMesh: unknown; pageFrames: string[]; toNode(to: string, k: string, p: unknown): void };
        const mesh = new w.ParleyMesh.Mesh({ selfId: 'a'.repeat(63) + '1', RTCPeerConnection, signaling: { send: (to, kind, payload) => w.toNode(to, kind, payload) } });
        w.pageFrames = [];
        mesh.on('frame', (_from, f) => {
          w.pageFrames.push(f);
          mesh.send(bobId, `echo:${f}`);
        });
        w.pageMesh = mesh;
        mesh.connect(bobId);
      }, BOB);
      bob.mesh.connect(ALICE);
      await waitFor('node side connected', () => bob.mesh.state(ALICE) === 'CONNECTED', 30_000);
      for (let i = 0; i < 10; i++) expect(bob.mesh.send(ALICE, `n${i}`)).toBe(true);
      await waitFor('echoes from Chromium', () => bob.frames.length === 10, 20_000);
      expect(bob.frames.map((f) => f.frame)).toEqual(Array.from({ length: 10 }, (_, i) => `echo:n${i}`));
      expect(livePeerConnections(bob.pcs)).toBe(1);
      expect(bob.mesh.recentRejections()).toEqual([]);
    } finally {
      await page.evaluate(() => (window as unknown as { pageMesh?: { close(): void } }).pageMesh?.close());
      stopPeer(bus, bob);
    }
  });
});

// Type of the bundle's exports as seen from page.evaluate callbacks.
declare const ParleyMeshGlobal: typeof import('../../../src/renderer/mesh');
