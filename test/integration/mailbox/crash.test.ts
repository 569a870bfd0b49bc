// Real broker processes under continuous APPEND + READ load: kill -9 of the leader, of a follower,
// and of every node at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailboxClient } from '../../../src/server/mailbox/client';
import { TestCluster, sleep } from './cluster';
import { runUnderLoad } from './workload';

describe('mailbox cluster: kill -9 under load', () => {
  let cluster: TestCluster;
  let probe: MailboxClient;

  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
    probe = new MailboxClient({ seeds: cluster.seeds, clusterId: cluster.clusterId });
  });

  afterAll(async () => {
    probe?.close();
    await cluster?.stop();
  });

  it('survives kill -9 of the leader (and its restart)', async () => {
    const r = await runUnderLoad(cluster, async () => {
      const leader = await cluster.leader(probe);
      await cluster.kill(leader);
      const next = await cluster.leader(probe);
      expect(next).not.toBe(leader);
      await cluster.startNode(leader);
    });
    expect(r.acked).toBeGreaterThan(0);
  });

  it('survives kill -9 of a follower (and its restart)', async () => {
    const r = await runUnderLoad(cluster, async () => {
      const leader = await cluster.leader(probe);
      const follower = cluster.specs.map((s) => s.id).find((id) => id !== leader)!;
      await cluster.kill(follower);
      await sleep(1000);
      await cluster.startNode(follower);
    });
    expect(r.acked).toBeGreaterThan(0);
  });

  it('survives kill -9 of every node at once and a full restart', async () => {
    const r = await runUnderLoad(cluster, async () => {
      await Promise.all(cluster.specs.map((s) => cluster.kill(s.id)));
      await Promise.all(cluster.specs.map((s) => cluster.startNode(s.id)));
    });
    expect(r.acked).toBeGreaterThan(0);
  });
});
