/**
 * Offline-inbox benchmark (issue 8): time from Carol's start to all N messages shown,
 *   mailbox — Alice wrote N while Carol was offline, they were deposited (`stored`), and Alice
 *             quit: Carol fetches them from her inbox on a one-node mailbox;
 *   coordinator — Alice (no mailbox) wrote N while Carol was offline, Bob (`--coordinator`, a contact
 *             of both) holds them (`stored`), and Alice quit: Carol connects to Bob, who forwards them;
 *   direct  — the baseline, side by side in the same run: Alice (no mailbox) stays online with the
 *             N messages pending; Carol starts, the data channel opens and Alice flushes them.
 * Bob runs only in the coordinator round (anywhere else Alice would deposit with him first).
 * Both start the same `parley peer` process for Carol, so process start-up is in both figures.
 * Bar: mailbox ≤ 3× direct at N = 100. Median of RUNS (default 3) per mode, with min/max and the
 * load average. Usage: npx tsx bench/offline.bench.ts [--n 100] [--runs 3]
 * Writes bench/results/offline.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { startBroker } from '../src/server/broker';
import { befriend, eventually, HeadlessPeer, messagesWith, tempProfile, waitConnected } from '../test/helpers/headless-peer';
import { TestCluster } from '../test/integration/mailbox/cluster';
import { revision, spread } from './lib/stats';

const args = process.argv.slice(2);
const arg = (name: string, dflt: number): number => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const N = arg('--n', 100);
const RUNS = arg('--runs', 3);


async function main(): Promise<void> {
  const load0 = loadavg();
  const broker = await startBroker({ tcpPort: 0, wsPort: 0, rateLimit: { burst: 5000, perSecond: 2000 } });
  const cluster = await TestCluster.start({ size: 1 });
  const seeds = cluster.seeds.join(',');
  const profileA = tempProfile('bench-alice');
  const profileC = tempProfile('bench-carol');
  const profileB = tempProfile('bench-bob');
  const start = (profile: string, name: string, mailbox: string, extra: string[] = []): Promise<HeadlessPeer> =>
    HeadlessPeer.start({ profile, name, broker: broker.mqttUrl, extraArgs: ['--mailbox', mailbox, ...extra] });
  const startBob = (): Promise<HeadlessPeer> => start(profileB, 'bob', 'none', ['--coordinator']);
  const held = async (bob: HeadlessPeer): Promise<number> => ((await bob.ok({ op: 'stats' })).coordinator as { held: number }).held;

  const times = { mailbox: [] as number[], coordinator: [] as number[], direct: [] as number[] };
  let carolId = '';
  try {
    {
      const a = await start(profileA, 'alice', seeds);
      const c = await start(profileC, 'carol', seeds);
      const b = await startBob();
      await befriend(a, c);
      await befriend(a, b);
      await befriend(b, c);
      carolId = c.userId;
      await Promise.all([a.quit(), c.quit(), b.quit()]);
    }
    // Carol's start → the Nth message of this round shown (her `message` events)
    const timeCarol = async (tag: string): Promise<{ ms: number; carol: HeadlessPeer }> => {
      const t0 = performance.now();
      const carol = await start(profileC, 'carol', seeds);
      await carol.waitFor(() => carol.lines.filter((l) => l.event === 'message' && String(l.text).startsWith(tag)).length >= N, 180_000);
      return { ms: performance.now() - t0, carol };
    };

    for (let run = 0; run < RUNS; run++) {
      // --- via the mailbox: Alice deposits while Carol is offline, then quits
      {
        const alice = await start(profileA, 'alice', seeds);
        const tag = `mailbox r${run} `;
        for (let i = 0; i < N; i++) await alice.ok({ op: 'send', to: carolId, text: `${tag}${i}` });
        await eventually(() => messagesWith(alice, carolId, 5000), (ms) => ms.filter((m) => m.text.startsWith(tag) && m.status === 'stored').length === N, 120_000, 100);
        await alice.quit();
        const { ms, carol } = await timeCarol(tag);
        times.mailbox.push(ms);
        await carol.quit();
        console.log(`run ${run} mailbox: ${ms.toFixed(0)} ms`);
      }
      // --- via a coordinator: Bob holds what Alice (no mailbox) wrote while Carol was offline; Alice quits
      {
        const bob = await startBob();
        const alice = await start(profileA, 'alice', 'none');
        await waitConnected(alice, bob.userId, 60_000);
        const tag = `coordinator r${run} `;
        for (let i = 0; i < N; i++) await alice.ok({ op: 'send', to: carolId, text: `${tag}${i}` });
        await eventually(() => messagesWith(alice, carolId, 5000), (ms) => ms.filter((m) => m.text.startsWith(tag) && m.status === 'stored').length === N, 120_000, 100);
        if (await held(bob) !== N) throw new Error(`coordinator round: Bob holds ${await held(bob)}, not ${N}`);
        await alice.quit();
        const { ms, carol } = await timeCarol(tag);
        times.coordinator.push(ms);
        await eventually(() => held(bob), (n) => n === 0, 120_000, 200);
        await Promise.all([carol.quit(), bob.quit()]);
        console.log(`run ${run} coordinator: ${ms.toFixed(0)} ms`);
      }
      // --- direct: Alice (no mailbox) stays online with N pending; Carol starts and gets the flush
      {
        const alice = await start(profileA, 'alice', 'none');
        const tag = `direct r${run} `;
        for (let i = 0; i < N; i++) await alice.ok({ op: 'send', to: carolId, text: `${tag}${i}` });
        const pending = await messagesWith(alice, carolId, 5000);
        if (pending.filter((m) => m.text.startsWith(tag) && m.status === 'pending').length !== N) throw new Error('direct baseline: messages left before Carol started');
        const before = alice.lines.length;
        const { ms, carol } = await timeCarol(tag);
        times.direct.push(ms);
        await waitConnected(alice, carolId, 60_000, before);
        // settle Alice's statuses so the next round starts clean
        await eventually(() => messagesWith(alice, carolId, 5000), (all) => all.filter((m) => m.text.startsWith(tag) && m.status === 'delivered').length === N, 120_000, 200);
        await Promise.all([alice.quit(), carol.quit()]);
        console.log(`run ${run} direct:  ${ms.toFixed(0)} ms`);
      }
    }
  } finally {
    await cluster.stop();
    await broker.close();
  }
  const mailbox = spread(times.mailbox);
  const direct = spread(times.direct);
  const coordinator = spread(times.coordinator);
  const ratio = mailbox.median / direct.median;
  const coordRatio = coordinator.median / direct.median;
  const result = {
    bench: 'offline', revision: revision(), at: new Date().toISOString(), n: N, runs: RUNS,
    note: 'ms from spawning Carol\'s parley peer to her Nth message event; mailbox = fetched from a one-node mailbox (fsync on) with Alice offline; coordinator = forwarded by an online coordinator peer (Bob) from its SQLite with Alice offline; direct = flushed over the data channel by an online Alice',
    mailboxMs: mailbox, coordinatorMs: coordinator, directMs: direct,
    ratio: { mailboxOverDirect: Number(ratio.toFixed(3)), bar: 3, pass: ratio <= 3, coordinatorOverDirect: Number(coordRatio.toFixed(3)) },
    loadAverage: { before: load0.map((x) => Number(x.toFixed(2))), after: loadavg().map((x) => Number(x.toFixed(2))) },
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/offline.json', `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
  console.log(`mailbox/direct = ${ratio.toFixed(2)} (bar ≤ 3): ${ratio <= 3 ? 'PASS' : 'FAIL'}; coordinator/direct = ${coordRatio.toFixed(2)} (report only); wrote bench/results/offline.json`);
}

await main();
process.exit(0);
