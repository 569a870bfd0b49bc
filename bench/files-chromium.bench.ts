/**
 * File throughput in Chromium (issue 9), beside the raw Chromium data-channel rate in the same run:
 *   raw:  two RTCPeerConnections in one headless Chromium page, unsigned 64 KiB binary messages on
 *         one channel, flow-controlled by the file path's watermarks (sleep until
 *         `bufferedamountlow` at 256 KiB, send while at most 1 MiB is queued);
 *   raw, same pair: the same from a Chromium page to @roamhq/wrtc (in this process), the pair the
 *         file run uses;
 *   file: a file dropped into a web-mode page (`parley web`, the page's own WebRTC stack) sent to
 *         a headless peer (@roamhq/wrtc), from the peer's accept to its verified `done` — the
 *         bytes cross the host⇄page bridge (binary WebSocket frames) and then Chromium's channel.
 * Bar: file >= 0.70 of raw. Median of --runs (default 3) with min/max, load average before/after.
 * Usage: npx tsx bench/files-chromium.bench.ts [--mib 128] [--runs 3] [--broker URL]
 * Writes bench/results/files-chromium.json. Rebuilds the renderer first (the page must be current).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import wrtc from '@roamhq/wrtc';
import type { Browser, Page } from 'playwright-core';
import { HeadlessPeer, tempProfile as peerProfile } from '../test/helpers/headless-peer';
import { sha256OfFile } from '../test/integration/files/support';
import { launchChromium, removeTempProfiles, ROOT, startWeb, tempProfile } from '../test/e2e/support';
import { FILE_CHANNEL_HIGH_WATER, FILE_CHANNEL_LOW_WATER } from '../src/renderer/mesh/file-channel';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => (args.includes(name) ? String(args[args.indexOf(name) + 1]) : dflt);
const MIB = Number(opt('--mib', '128'));
const RUNS = Number(opt('--runs', '3'));
const BROKER = opt('--broker', 'mqtt://127.0.0.1:1883');
const SIZE = MIB * 1024 * 1024;
const WrtcPeerConnection = wrtc.RTCPeerConnection as unknown as typeof RTCPeerConnection;
/** --cpu-profile DIR: the page's CPU profile of each file run goes there (the Node processes take NODE_OPTIONS=--cpu-prof). */
const PROFILE_DIR = args.includes('--cpu-profile') ? opt('--cpu-profile', '') : '';

interface Summary { median: number; min: number; max: number; runs: number[] }
const summarize = (xs: number[]): Summary => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s[s.length - 1]!, runs: xs };
};
const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d;

/** Raw bulk rate between two peer connections in one Chromium page, in MiB/s. */
async function rawRate(page: Page, bytes: number): Promise<number> {
  return page.evaluate(async ({ bytes, high, low }) => {
    const a = new RTCPeerConnection();
    const b = new RTCPeerConnection();
    a.onicecandidate = (e) => { if (e.candidate) void b.addIceCandidate(e.candidate); };
    b.onicecandidate = (e) => { if (e.candidate) void a.addIceCandidate(e.candidate); };
    const dc = a.createDataChannel('raw');
    dc.binaryType = 'arraybuffer';
    const n = Math.ceil(bytes / 65536);
    let got = 0;
    const done = new Promise<void>((resolve) => {
      b.ondatachannel = (e) => {
        e.channel.binaryType = 'arraybuffer';
        e.channel.onmessage = () => { if (++got === n) resolve(); };
      };
    });
    const open = new Promise<void>((r) => (dc.onopen = () => r()));
    await a.setLocalDescription();
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription!);
    await open;
    dc.bufferedAmountLowThreshold = low;
    const msg = new Uint8Array(65536 + 5);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      if (dc.bufferedAmount > high) await new Promise<void>((r) => dc.addEventListener('bufferedamountlow', () => r(), { once: true }));
      dc.send(msg);
    }
    await done;
    const seconds = (performance.now() - t0) / 1000;
    a.close();
    b.close();
    return (n * 65536) / 1048576 / seconds;
  }, { bytes, high: FILE_CHANNEL_HIGH_WATER, low: FILE_CHANNEL_LOW_WATER });
}

/**
 * Raw bulk rate on the same pair as the file run: a Chromium page sending to @roamhq/wrtc (here, in
 * the bench process), same messages and watermarks, SDP exchanged whole after ICE gathering.
 */
async function rawRateToWrtc(page: Page, bytes: number): Promise<number> {
  const pc = new WrtcPeerConnection();
  const n = Math.ceil(bytes / 65536);
  let got = 0;
  let t0 = 0;
  let resolveDone!: (seconds: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  pc.ondatachannel = (e) => {
    e.channel.binaryType = 'arraybuffer';
    e.channel.onmessage = (m) => {
      if (got === 0) t0 = performance.now();
      if (++got === n) resolveDone((performance.now() - t0) / 1000);
    };
  };
  try {
    const offer = await page.evaluate(async () => {
      const a = new RTCPeerConnection();
      (globalThis as unknown as { benchPc: RTCPeerConnection }).benchPc = a;
      (globalThis as unknown as { benchDc: RTCDataChannel }).benchDc = a.createDataChannel('raw');
      await a.setLocalDescription();
      await new Promise<void>((r) => { if (a.iceGatheringState === 'complete') r(); else a.onicegatheringstatechange = () => { if (a.iceGatheringState === 'complete') r(); }; });
      return a.localDescription!.sdp;
    });
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
    await pc.setLocalDescription(await pc.createAnswer());
    await new Promise<void>((r) => { if (pc.iceGatheringState === 'complete') r(); else pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') r(); }; });
    const pageSeconds = page.evaluate(async ({ answer, n, high, low }) => {
      const g = globalThis as unknown as { benchPc: RTCPeerConnection; benchDc: RTCDataChannel };
      const dc = g.benchDc;
      dc.binaryType = 'arraybuffer';
      await g.benchPc.setRemoteDescription({ type: 'answer', sdp: answer });
      if (dc.readyState !== 'open') await new Promise<void>((r) => (dc.onopen = () => r()));
      dc.bufferedAmountLowThreshold = low;
      const msg = new Uint8Array(65536 + 5);
      for (let i = 0; i < n; i++) {
        if (dc.bufferedAmount > high) await new Promise<void>((r) => dc.addEventListener('bufferedamountlow', () => r(), { once: true }));
        dc.send(msg);
      }
      return 0;
    }, { answer: pc.localDescription!.sdp, n, high: FILE_CHANNEL_HIGH_WATER, low: FILE_CHANNEL_LOW_WATER });
    await pageSeconds;
    const seconds = await done;
    return (n * 65536) / 1048576 / seconds;
  } finally {
    pc.close();
    await page.evaluate(() => (globalThis as unknown as { benchPc?: RTCPeerConnection }).benchPc?.close());
  }
}

/** One web-mode page → headless peer transfer, in MiB/s from accept to verified done. */
async function fileRun(browser: Browser): Promise<number> {
  const alice = await startWeb({ profile: tempProfile('bench-alice'), broker: BROKER, name: 'Alice' });
  const bob = await HeadlessPeer.start({ profile: peerProfile('bench-bob'), name: 'Bob', broker: BROKER });
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  try {
    await bob.signalingUp();
    await page.goto(alice.url);
    const wait = { timeout: 120_000 };
    await page.getByTestId('my-user-id').waitFor(wait);
    await bob.ok({ op: 'contact.add', userId: alice.userId, name: 'Alice' });
    await page.getByTestId(`accept-${bob.userId}`).click(wait);
    await bob.waitFor((l) => l.event === 'connection' && l.userId === alice.userId && l.state === 'CONNECTED', 120_000);
    await page.getByTestId(`contact-${bob.userId}`).click(wait);
    const pageHash = await page.evaluate(async (size) => {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'bench.bin', { type: 'application/octet-stream' }));
      const target = document.querySelector('[data-testid="chat-view"]')!;
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      const digest = await crypto.subtle.digest('SHA-256', bytes);
      return [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, '0')).join('');
    }, SIZE);
    const offered = await bob.waitFor((l) => l.event === 'file' && l.state === 'offered' && l.peer === alice.userId, 600_000);
    const cdp = PROFILE_DIR ? await page.context().newCDPSession(page) : null;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.start');
    }
    const t0 = performance.now();
    await bob.ok({ op: 'file.accept', id: offered.id });
    const done = await bob.waitFor((l) => l.event === 'file' && l.id === offered.id && (l.state === 'done' || l.state === 'failed'), 1_800_000);
    const seconds = (performance.now() - t0) / 1000;
    if (cdp) {
      const { profile } = await cdp.send('Profiler.stop');
      mkdirSync(PROFILE_DIR, { recursive: true });
      writeFileSync(join(PROFILE_DIR, `page-${Date.now()}.cpuprofile`), JSON.stringify(profile));
    }
    if (done.state !== 'done') throw new Error(`transfer failed: ${String(done.reason)}`);
    if ((await sha256OfFile(String(done.path))) !== pageHash) throw new Error('received file does not match the page\'s SHA-256');
    rmSync(String(done.path));
    return MIB / seconds;
  } finally {
    await page.close();
    await Promise.all([alice.stop(), bob.quit()]);
  }
}

async function main(): Promise<void> {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'vite.renderer.config.ts', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
  const loadBefore = loadavg();
  console.log(`Chromium file benchmark: ${MIB} MiB, ${RUNS} runs, load ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);
  const browser = await launchChromium();
  const raw: number[] = [];
  const rawPair: number[] = [];
  const files: number[] = [];
  try {
    const blank = await browser.newPage();
    for (let i = 0; i < RUNS; i++) {
      // Interleaved, so both see the same machine load.
      raw.push(await rawRate(blank, SIZE));
      rawPair.push(await rawRateToWrtc(blank, SIZE));
      files.push(await fileRun(browser));
      console.log(`run ${i + 1}: raw Chromium↔Chromium ${raw[i]!.toFixed(1)} MiB/s, raw Chromium→wrtc ${rawPair[i]!.toFixed(1)} MiB/s, file ${files[i]!.toFixed(1)} MiB/s (${((files[i]! / raw[i]!) * 100).toFixed(0)}% / ${((files[i]! / rawPair[i]!) * 100).toFixed(0)}%)`);
    }
  } finally {
    await browser.close();
    removeTempProfiles();
  }
  const loadAfter = loadavg();
  const result = {
    when: new Date().toISOString(),
    fileMiB: MIB,
    runs: RUNS,
    loadAverage: { before: loadBefore.map((l) => round(l, 2)), after: loadAfter.map((l) => round(l, 2)) },
    chromium: {
      rawMiBps: summarize(raw.map((x) => round(x))),
      rawSamePairMiBps: summarize(rawPair.map((x) => round(x))),
      fileMiBps: summarize(files.map((x) => round(x))),
      fileToRaw: summarize(files.map((f, i) => round(f / raw[i]!, 3))),
      fileToRawSamePair: summarize(files.map((f, i) => round(f / rawPair[i]!, 3))),
      bar: '>= 0.70 of raw',
      raw: 'two peer connections in one Chromium page, 64 KiB messages, same watermarks',
      rawSamePair: 'a Chromium page sending to @roamhq/wrtc (the file run\'s pair), 64 KiB messages, same watermarks',
      file: 'web-mode page (Chromium) -> headless peer (@roamhq/wrtc), accept to verified done',
    },
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/files-chromium.json', `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
  process.exit(0);
}

void main();
