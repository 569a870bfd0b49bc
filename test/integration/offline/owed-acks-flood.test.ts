/**
 * Issue 8, the owed-ACK list under a flood. Two contacts (real identities, correctly sealed and
 * signed deposits) fill Carol's inbox on a real mailbox node far past the list's caps; Alice, a
 * third contact, deposits 20. Carol's real host fetches everything (real SQLite). The list of ACKs
 * Carol owes senders stays at its cap, the flood pushes out only its own entries, and when Alice's
 * channel opens Carol ACKs every one of Alice's 20. The channel is the renderer mesh's seam
 * (mesh.report / mesh.command), as in sent-at.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { startHost, type HostApi } from '../../../src/main/host/host';
import { loadOrCreateIdentity } from '../../../src/main/host/keystore';
import { MailboxClient, MailboxError } from '../../../src/server/mailbox/client';
import type { MeshCommand } from '../../../src/shared/api';
import { sealTo } from '../../../src/shared/box';
import { utf8 } from '../../../src/shared/encoding';
import { decodeEnvelope, encodeEnvelope, signEnvelope } from '../../../src/shared/envelope';
import type { Identity } from '../../../src/shared/identity';
import { inboxQueue, signInboxOp } from '../../../src/shared/mailbox-auth';
import { MOSQUITTO_URL } from '../../helpers/brokers';
import { eventually, tempProfile } from '../../helpers/headless-peer';
import { TestCluster } from '../mailbox/cluster';

const LIMITS = { maxPerPeer: 50, maxTotal: 100, ttlMs: 30 * 24 * 3600 * 1000 };
const FLOOD = 180; // per flooder: under the mailbox's deposit burst (200), far over the list's caps

describe('owed ACKs stay bounded under a deposit flood', () => {
  let cluster: TestCluster;
  let carol: HostApi;
  const others: HostApi[] = [];
  const ids = new Map<string, Identity>();

  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 1 });
    carol = await startHost({
      profileDir: tempProfile('owed-carol'), name: 'carol', brokerUrl: MOSQUITTO_URL, mailbox: cluster.seeds.join(','),
      mailboxPollMs: 1_000, owedAckLimits: LIMITS,
    });
    for (const name of ['alice', 'mallory', 'nigel']) {
      const profile = tempProfile(`owed-${name}`);
      const h = await startHost({ profileDir: profile, name, brokerUrl: MOSQUITTO_URL, mailbox: 'none' });
      others.push(h);
      ids.set(name, loadOrCreateIdentity(profile).identity);
      await eventually(() => h.handle('status', {}), (s) => s.signaling === 'connected', 30_000);
      const asked = new Promise((r) => { const off = carol.on('contactRequest', (e) => { if (e.userId === h.userId) { off(); r(e); } }); });
      await h.handle('contacts.add', { userId: carol.userId });
      await asked;
      await carol.handle('contacts.respond', { userId: h.userId, accept: true });
      await eventually(() => h.handle('contacts.list', {}), (cs) => cs.some((c) => c.userId === carol.userId && c.state === 'accepted'), 30_000);
    }
    // Only their identities are needed from here on; nothing of theirs may answer for Carol.
    await Promise.all(others.splice(0).map((h) => h.close()));
  }, 120_000);
  afterAll(async () => {
    await Promise.all(others.map((h) => h.close()));
    await carol?.close();
    await cluster?.stop();
  });

  it('the list stays at its cap, the flood evicts only its own entries, Alice gets an ACK for each of her 20', async () => {
    const m = new MailboxClient({ seeds: cluster.seeds, clusterId: cluster.clusterId, timeoutMs: 20_000 });
    const inbox = inboxQueue(carol.userId);
    const deposit = async (who: Identity, text: string): Promise<string> => {
      const env = signEnvelope({ type: 'CHAT_MESSAGE', to: carol.userId, body: { text, sentAt: Date.now() } }, who, nodeSigner);
      const data = JSON.stringify({ v: 1, from: who.userId, sealed: sealTo(carol.userId, utf8(encodeEnvelope(env)), who) });
      await m.append(inbox, data, env.id, { auth: signInboxOp({ op: 'APPEND', queue: inbox, reqId: env.id, data }, who, nodeSigner) });
      return env.id;
    };
    const alice = ids.get('alice')!;
    const aliceIds: string[] = [];
    const flooders = [ids.get('mallory')!, ids.get('nigel')!];
    try {
      for (let i = 0; i < FLOOD; i++) {
        await Promise.all(flooders.map((f) => deposit(f, `flood ${i}`)));
        if (i % 9 === 0 && aliceIds.length < 20) aliceIds.push(await deposit(alice, `alice ${aliceIds.length}`));
      }
    } catch (err) {
      throw new Error(`deposit refused: ${err instanceof MailboxError ? err.code : String(err)}`);
    } finally {
      m.close();
    }
    expect(aliceIds).toHaveLength(20);

    const count = async (who: Identity) => (await carol.handle('messages.list', { with: who.userId, limit: 1000 })).length;
    await eventually(async () => [await count(alice), ...(await Promise.all(flooders.map(count)))], (n) => n[0] === 20 && n[1] === FLOOD && n[2] === FLOOD, 180_000);

    const stats = carol.owedAckStats();
    expect(stats.size).toBeLessThanOrEqual(LIMITS.maxTotal);
    expect(stats.evicted).toBeGreaterThanOrEqual(2 * FLOOD + 20 - LIMITS.maxTotal);

    // Alice's channel opens: Carol owes her exactly her 20 and sends them.
    const acked = new Set<string>();
    const foreign: string[] = [];
    carol.on('mesh.command', (cmd: MeshCommand) => {
      if (cmd.op !== 'send') return;
      for (const part of cmd.frame.split('\n')) {
        // Carol's ACKs on the channel to Alice rely on the channel (unsigned, DESIGN section 2).
        const d = decodeEnvelope(part, { self: cmd.userId, signer: nodeSigner, unsignedTypes: ['ACK'] });
        if (!d.ok || d.value.type !== 'ACK') continue;
        for (const id of (d.value.body as { msgIds?: string[] }).msgIds ?? []) (cmd.userId === alice.userId ? acked : { add: (x: string) => foreign.push(x) }).add(id);
      }
    });
    const { session } = await carol.handle('mesh.attach', {});
    await carol.handle('mesh.report', { kind: 'state', session, userId: alice.userId, state: 'CONNECTED', attempt: 0 });
    await carol.handle('mesh.report', { kind: 'open', session, userId: alice.userId });
    await eventually(async () => acked.size, (n) => n >= 20, 30_000);
    expect([...acked].sort()).toEqual([...aliceIds].sort());
    expect(foreign).toEqual([]);
    expect(carol.owedAckStats().size).toBeLessThanOrEqual(LIMITS.maxTotal - 20);
  }, 300_000);
});
