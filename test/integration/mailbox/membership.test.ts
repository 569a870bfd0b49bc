// Configuration changes under load: a fourth node joins (learner, caught up, promoted) and a
// follower leaves; afterwards the joiner's copy must be good enough to form a majority.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailboxClient } from '../../../src/server/mailbox/client';
import { TestCluster, sleep, waitFor } from './cluster';
import { runUnderLoad } from './workload';

describe('mailbox cluster: join and leave under load', () => {
  let cluster: TestCluster;
  let probe: MailboxClient;

  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3, snapshotEvery: 200 });
    probe = cluster.operator();
  });

  afterAll(async () => {
    probe?.close();
    await cluster?.stop();
  });

  it('n4 joins as a learner and is promoted; a follower leaves; the new majority holds every acknowledged append', async () => {
    const r = await runUnderLoad(
      cluster,
      async () => {
        await cluster.addSpec('n4');
        await cluster.startNode('n4', ['--join', cluster.seeds.slice(0, 3).join(',')]);
        await waitFor('n4 promoted to voter', async () => {
          const info = await probe.cluster();
          return info.members.some((m) => m.id === 'n4' && m.role === 'voter');
        }, 45_000, 200);

        const leader = await cluster.leader(probe);
        const leaving = ['n1', 'n2', 'n3'].find((id) => id !== leader)!;
        await probe.removeNode(leaving);
        await waitFor(`${leaving} removed`, async () => !(await probe.cluster()).members.some((m) => m.id === leaving), 30_000, 200);
        await sleep(500);
        await cluster.kill(leaving);

        // Voters are now {leader, other, n4}: with "other" down, n4 is needed for every commit.
        const other = ['n1', 'n2', 'n3'].find((id) => id !== leader && id !== leaving)!;
        await cluster.kill(other);
        await sleep(1500);
        await cluster.startNode(other);
      },
      { settleMs: 2500 },
    );
    expect(r.acked).toBeGreaterThan(0);
    const members = (await probe.cluster()).members;
    expect(members.filter((m) => m.role === 'voter')).toHaveLength(3);
    expect(members.map((m) => m.id)).toContain('n4');
  });
});
