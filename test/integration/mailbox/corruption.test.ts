// One node's SQLite file is truncated while it is down. It must not serve from the damaged file:
// it quarantines it, rejoins as an empty learner, is re-synced from the leader (DATA_SYNC of a
// snapshot, since the leader has compacted its log), is promoted, and is then needed for a majority.
import { existsSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailboxClient } from '../../../src/server/mailbox/client';
import { TestCluster, sleep, waitFor } from './cluster';
import { runUnderLoad } from './workload';

describe('mailbox cluster: truncated SQLite file', () => {
  let cluster: TestCluster;
  let probe: MailboxClient;

  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3, snapshotEvery: 100 });
    probe = new MailboxClient({ seeds: cluster.seeds, clusterId: cluster.clusterId });
  });

  afterAll(async () => {
    probe?.close();
    await cluster?.stop();
  });

  it('quarantines the file, re-syncs from the leader, and never serves corrupt data', async () => {
    let victim = '';
    const r = await runUnderLoad(
      cluster,
      async () => {
        await sleep(1500); // enough appends for the leader to have compacted its log
        const leader = await cluster.leader(probe);
        victim = ['n1', 'n2', 'n3'].find((id) => id !== leader)!; // the smallest id: it must dial to be reached
        await cluster.kill(victim, 'SIGTERM');
        const file = join(cluster.spec(victim).dataDir, 'mailbox.sqlite');
        expect(existsSync(file)).toBe(true);
        truncateSync(file, Math.floor(statSync(file).size / 2));

        const { recovered } = await cluster.startNode(victim);
        expect(recovered).toBe(true);
        const quarantined = readdirSync(cluster.spec(victim).dataDir).filter((f) => f.includes('.corrupt-'));
        expect(quarantined.length).toBeGreaterThan(0);

        await waitFor(`${victim} back as a voter`, async () => {
          const info = await probe.cluster();
          const st = await probe.stats(cluster.addr(victim));
          return info.members.some((m) => m.id === victim && m.role === 'voter') && st.role === 'follower';
        }, 45_000, 200);

        // Now the re-synced node is needed for every commit: kill the other follower.
        const other = ['n1', 'n2', 'n3'].find((id) => id !== leader && id !== victim)!;
        await cluster.kill(other);
        await sleep(2000);
        await cluster.startNode(other);
      },
      { settleMs: 2500 },
    );
    expect(r.acked).toBeGreaterThan(0);
    // it was taken out and added back (as a learner, then promoted), never trusted as it was
    expect(cluster.events(victim).map((e) => e.detail)).toContain('recovered');
    const witnessed = ['n1', 'n2', 'n3']
      .filter((id) => id !== victim)
      .map((id) => cluster.events(id).map((e) => e.detail ?? '').filter((d) => d.endsWith(` ${victim}`)));
    expect(witnessed).toContainEqual([`removeNode ${victim}`, `addLearner ${victim}`, `promoteLearner ${victim}`]);
  });
});
