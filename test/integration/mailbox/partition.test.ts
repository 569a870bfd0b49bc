// Network partitions through one TCP proxy per broker link, under continuous load:
// a minority follower cut off, an isolated leader, and a bridge topology (one link cut).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailboxClient } from '../../../src/server/mailbox/client';
import { TestCluster, sleep } from './cluster';
import { MailboxError } from '../../../src/server/mailbox/client';
import { runUnderLoad } from './workload';

describe('mailbox cluster: partitions', () => {
  let cluster: TestCluster;
  let probe: MailboxClient;
  const ids = ['n1', 'n2', 'n3'];

  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3, proxies: true });
    probe = new MailboxClient({ seeds: cluster.seeds, clusterId: cluster.clusterId });
  });

  afterAll(async () => {
    probe?.close();
    await cluster?.stop();
  });

  it('minority/majority split: a cut-off follower changes nothing for the majority', async () => {
    const r = await runUnderLoad(cluster, async () => {
      const leader = await cluster.leader(probe);
      const follower = ids.find((id) => id !== leader)!;
      cluster.partition([follower], ids.filter((id) => id !== follower));
      await sleep(2500);
      // PreVote: the cut-off node must not have bumped the majority's term by campaigning
      expect(await cluster.leader(probe)).toBe(leader);
      cluster.healAll();
    });
    expect(r.acked).toBeGreaterThan(0);
  });

  it('isolated leader: the majority elects a new one, the old one steps down and serves nothing stale', async () => {
    let isolatedStatus = '';
    const r = await runUnderLoad(cluster, async (w) => {
      const leader = await cluster.leader(probe);
      const others = ids.filter((id) => id !== leader);
      cluster.partition([leader], others);
      // A client that can only reach the isolated leader: its append must not be acknowledged.
      const cut = new MailboxClient({ seeds: [cluster.addr(leader)], clusterId: cluster.clusterId, timeoutMs: 1500, attemptTimeoutMs: 700 });
      const queue = w.opts.queues[0]!;
      const rec = { queue, clientId: cut.clientId, reqId: `isolated-${Date.now()}`, data: `isolated-payload-${Date.now()}`, status: 'unknown' as 'ok' | 'failed' | 'unknown', seq: undefined as number | undefined };
      try {
        rec.seq = (await cut.append(queue, rec.data, rec.reqId)).seq;
        rec.status = 'ok';
      } catch (err) {
        rec.status = err instanceof MailboxError && !err.outcomeUnknown ? 'failed' : 'unknown';
      } finally {
        cut.close();
      }
      // the audit resolves it: unknown -> retried with the same reqId (exactly once), failed -> never visible
      w.appends.push(rec);
      isolatedStatus = rec.status;
      const next = await cluster.leader(probe, others);
      expect(next).not.toBe(leader);
      await sleep(1500);
      // check-quorum: the isolated node no longer acts as leader
      expect((await probe.stats(cluster.addr(leader))).role).not.toBe('leader');
      cluster.healAll();
    });
    expect(r.acked).toBeGreaterThan(0);
    expect(isolatedStatus, 'the isolated leader acknowledged an append without a majority').not.toBe('ok');
    expect(isolatedStatus).not.toBe('');
  });

  it('bridge: leader and one follower lose their direct link, the third node sees both', async () => {
    const r = await runUnderLoad(cluster, async () => {
      const leader = await cluster.leader(probe);
      const [a, b] = ids.filter((id) => id !== leader) as [string, string];
      cluster.link(leader, a).setCut(true);
      await sleep(3000);
      cluster.healAll();
      void b;
    });
    expect(r.acked).toBeGreaterThan(0);
  });

  it('majority without the old leader keeps going while the old leader is isolated, then everything converges', async () => {
    const r = await runUnderLoad(cluster, async () => {
      const leader = await cluster.leader(probe);
      const [a, b] = ids.filter((id) => id !== leader) as [string, string];
      // leader can reach only a; a reaches both: a bridges, b is cut from the leader
      cluster.link(leader, b).setCut(true);
      await sleep(1500);
      // then a goes too: leader is alone
      cluster.link(leader, a).setCut(true);
      await cluster.leader(probe, [a, b]);
      await sleep(1000);
      cluster.healAll();
    });
    expect(r.acked).toBeGreaterThan(0);
  });

  it('an isolated, paused leader that wakes up still believing it leads never serves a stale read', async () => {
    const queue = `stale-${Date.now()}`;
    await probe.create(queue);
    const old = await cluster.leader(probe);
    const others = ids.filter((id) => id !== old);
    // Paused first, so its check-quorum clock stops too; then cut off from the other brokers.
    cluster.signal(old, 'SIGSTOP');
    cluster.partition([old], others);
    try {
      await cluster.leader(probe, others);
      const { seq } = await probe.append(queue, 'written-elsewhere');
      const pinned = new MailboxClient({ seeds: [cluster.addr(old)], clusterId: cluster.clusterId, attemptTimeoutMs: 4000, timeoutMs: 6000 });
      const pendingRead = pinned.read(queue, 'device').then(
        (r) => ({ ok: true as const, r }),
        (err: unknown) => ({ ok: false as const, err }),
      );
      await sleep(200);
      cluster.signal(old, 'SIGCONT');
      const outcome = await pendingRead;
      pinned.close();
      // Either it could not confirm its leadership (an error), or the answer is the current one.
      if (outcome.ok) expect(outcome.r).toEqual({ seq, data: 'written-elsewhere' });
      else expect(outcome.err).toBeInstanceOf(MailboxError);
    } finally {
      cluster.signal(old, 'SIGCONT');
      cluster.healAll();
    }
  });
});
