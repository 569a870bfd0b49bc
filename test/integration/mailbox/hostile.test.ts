// Untrusted wire input against a real node: every bad frame is rejected with a code and a reason,
// counted per code (STATS), and the node keeps serving clients and its cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailboxClient } from '../../../src/server/mailbox/client';
import { encodeFrame } from '../../../src/server/mailbox/framing';
import { MAX_CLIENT_FRAME_BYTES } from '../../../src/shared/schemas/mailbox';
import { TestCluster } from './cluster';
import { RawConn } from './raw-conn';

describe('mailbox node: hostile wire input', () => {
  let cluster: TestCluster;
  let client: MailboxClient;
  let target: string;

  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
    client = new MailboxClient({ seeds: cluster.seeds, clusterId: cluster.clusterId });
    await client.create('box:hostile');
    target = cluster.addr(await cluster.leader(client));
  });

  afterAll(async () => {
    client?.close();
    await cluster?.stop();
  });

  it('rejects malformed, unknown, foreign, oversize and stale frames with reasons, counts them, keeps serving', async () => {
    const before = (await client.stats(target)).rejects;
    const conn = await RawConn.open(target);

    conn.sendJson('{"op": "APPEND", "queue": '); // truncated JSON
    conn.sendJson('[1,2,3]'); // not an object
    conn.sendJson(JSON.stringify({ op: 'DROP_DATABASE', corr: 7 }));
    conn.sendJson(JSON.stringify({ op: 'APPEND', corr: 8, queue: 'box:hostile', data: 42, reqId: 'x' })); // data must be a string
    conn.sendJson(JSON.stringify({ op: 'APPEND', corr: 9, queue: 'box:hostile', data: 'x', reqId: 'r', clusterId: 'someone-else' }));
    conn.sendJson(JSON.stringify({ op: 'APPEND', corr: 10, queue: '../../etc/passwd', data: 'x', reqId: 'r' }));
    // oversize: the declared length is over the cap; the node skips it and stays in sync
    conn.sendJson(JSON.stringify({ op: 'APPEND', corr: 11, queue: 'box:hostile', data: 'y'.repeat(MAX_CLIENT_FRAME_BYTES + 10), reqId: 'big' }));
    conn.sendRaw(encodeFrame({ op: 'CLUSTER_QUERY', corr: 12, clusterId: cluster.clusterId }));

    const replies = await conn.next(8);
    const codes = replies.map((r) => r.code ?? (r.ok === true ? 'OK' : 'NONE'));
    expect(codes).toEqual(['BAD_JSON', 'SCHEMA', 'UNKNOWN_OP', 'SCHEMA', 'WRONG_CLUSTER', 'SCHEMA', 'OVERSIZE', 'OK']);
    for (const r of replies.slice(0, 7)) {
      expect(r.ok).toBe(false);
      expect(typeof r.reason).toBe('string');
      expect((r.reason as string).length).toBeGreaterThan(0);
    }
    expect(replies[2]!.corr).toBe(7);
    expect(replies[4]!.corr).toBe(9);
    expect(replies[7]!.corr).toBe(12);
    conn.close();

    // A buggy key holder (authenticated link, but no member): stale term, another cluster, unknown
    // frame type, bad JSON inside a valid MAC.
    const leaderId = (await client.stats(target)).nodeId;
    const term = (await client.stats(target)).term;
    const peer = await RawConn.peer(target, { key: cluster.key, clusterId: cluster.clusterId, from: 'zz-intruder', to: leaderId });
    peer.send({ type: 'REPLICATE', clusterId: cluster.clusterId, from: 'zz-intruder', to: leaderId, term: Math.max(0, term - 1), prevLogIndex: 0, prevLogTerm: 0, entries: [], commit: 0 });
    peer.send({ type: 'HEARTBEAT', clusterId: 'someone-else', from: 'zz-intruder', to: leaderId, term: term + 5, commit: 0, ctx: '' });
    peer.send({ type: 'VOTE_FOR_ME', clusterId: cluster.clusterId, from: 'zz-intruder', to: leaderId, term: term + 5 });
    peer.sendJson('{not json');
    const peerReplies = await peer.next(4);
    const peerCodes = peerReplies.filter((r) => r.type === 'REJECT').map((r) => r.code);
    if (term > 0) expect(peerCodes).toContain('STALE_TERM');
    expect(peerCodes).toEqual(expect.arrayContaining(['WRONG_CLUSTER', 'UNKNOWN_OP', 'BAD_JSON']));
    peer.close();

    const after = (await client.stats(target)).rejects;
    const delta = (code: string): number => (after[code] ?? 0) - (before[code] ?? 0);
    expect(delta('BAD_JSON')).toBe(2);
    expect(delta('SCHEMA')).toBe(3);
    expect(delta('UNKNOWN_OP')).toBe(2);
    expect(delta('WRONG_CLUSTER')).toBe(2);
    expect(delta('OVERSIZE')).toBe(1);
    if (term > 0) expect(delta('STALE_TERM')).toBe(1);

    // still serving, and still the same leader (the forged higher-term frame did not depose it)
    const { seq } = await client.append('box:hostile', 'still alive');
    expect(seq).toBeGreaterThan(0);
    const read = await client.read('box:hostile', 'reader');
    expect(read).toEqual({ seq: 1, data: 'still alive' });
    expect((await client.stats(target)).role).toBe('leader');
  });
});
