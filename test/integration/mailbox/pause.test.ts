// SIGSTOP of the leader for longer than the election timeout, then SIGCONT: the paused leader
// must step down and never make a stale write or read visible.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailboxClient } from '../../../src/server/mailbox/client';
import { TestCluster, sleep } from './cluster';
import { runUnderLoad } from './workload';

describe('mailbox cluster: paused leader', () => {
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

  it('SIGSTOP of the leader beyond the election timeout, then SIGCONT', async () => {
    let paused = '';
    const r = await runUnderLoad(cluster, async () => {
      paused = await cluster.leader(probe);
      cluster.signal(paused, 'SIGSTOP');
      await sleep(2500); // > 1200 ms, the longest election timeout of the fast profile
      const others = cluster.specs.map((s) => s.id).filter((id) => id !== paused);
      const next = await cluster.leader(probe, others);
      expect(next).not.toBe(paused);
      cluster.signal(paused, 'SIGCONT');
    });
    expect(r.acked).toBeGreaterThan(0);
    // the resumed node rejoins as a follower of the newer term
    const st = await probe.stats(cluster.addr(paused));
    expect(st.role).not.toBe('leader');
  });

  it('a resumed leader never answers a read queued while it was paused with stale data', async () => {
    const queue = `stale-${Date.now()}`;
    await probe.create(queue);
    const old = await cluster.leader(probe);
    cluster.signal(old, 'SIGSTOP');
    try {
      const others = cluster.specs.map((s) => s.id).filter((id) => id !== old);
      await cluster.leader(probe, others);
      const { seq } = await probe.append(queue, 'written-while-paused');
      // A client that only knows the paused node: its READ waits in the socket until SIGCONT.
      const pinned = new MailboxClient({ seeds: [cluster.addr(old)], clusterId: cluster.clusterId, attemptTimeoutMs: 8000, timeoutMs: 20_000 });
      const pendingRead = pinned.read(queue, 'device');
      await sleep(300);
      cluster.signal(old, 'SIGCONT');
      const r = await pendingRead;
      pinned.close();
      expect(r).toEqual({ seq, data: 'written-while-paused' });
    } finally {
      cluster.signal(old, 'SIGCONT');
    }
  });
});
