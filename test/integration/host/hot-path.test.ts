/**
 * The delivery hot path at the host (issue 11, part 3), with frames injected where the renderer's
 * mesh hands them over (mesh.report) and sends seen as mesh commands, a real store underneath:
 * - a burst is stored and ACKed in bounded slices, each slice on disk before its ACK leaves;
 * - a new message is on disk before it shows, its frame leaves before the bookkeeping (the
 *   message event, the reply, `sent`), and an ACK supersedes the attempt and `sent` writes;
 * - what was held back (attempts, `sent`) reaches the disk when no ACK comes.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { MAX_TURN_ITEMS } from '../../../src/main/host/delivery';
import type { HostApi } from '../../../src/main/host/host';
import type { MeshCommand } from '../../../src/shared/api';
import { decodeEnvelope, encodeEnvelope, signEnvelope } from '../../../src/shared/envelope';
import type { Identity } from '../../../src/shared/identity';
import { randomId } from '../../../src/shared/ids';
import { startBridgedHosts, type BridgedHosts } from '../../helpers/bridged-hosts';
import { eventually } from '../../helpers/headless-peer';

describe('delivery hot path', () => {
  let alice: HostApi;
  let bob: HostApi;
  let bobIdentity: Identity;
  let session: string;
  let aliceDb: Database.Database;
  let hosts: BridgedHosts;
  let commands: MeshCommand[];

  beforeAll(async () => {
    hosts = await startBridgedHosts('hot');
    ({ alice, bob, bobIdentity, session, commands } = hosts);
    // A second connection to Alice's database: what it sees is what is on disk (committed).
    aliceDb = new Database(join(hosts.aliceProfile, 'parley.db'), { readonly: true });
  }, 60_000);
  afterAll(async () => {
    aliceDb?.close();
    await hosts?.close();
  });

  const inject = (frame: string) => alice.handle('mesh.report', { kind: 'frame', session, userId: bob.userId, frame });
  const chat = (id: string, text: string) =>
    encodeEnvelope(signEnvelope({ type: 'CHAT_MESSAGE', to: alice.userId, id, body: { text, sentAt: Date.now() } }, bobIdentity, nodeSigner));
  const storedIds = (ids: string[]): Set<string> =>
    new Set((aliceDb.prepare('SELECT id FROM messages WHERE id IN (SELECT value FROM json_each(?))').pluck().all(JSON.stringify(ids)) as string[]));
  const row = (id: string) => aliceDb.prepare('SELECT status FROM messages WHERE id = ?').get(id) as { status: string } | undefined;
  const outboxRow = (id: string) =>
    aliceDb.prepare('SELECT attempts, next_attempt_at AS nextAttemptAt, created_at AS createdAt FROM outbox WHERE msg_id = ?').get(id) as
      { attempts: number; nextAttemptAt: number; createdAt: number } | undefined;
  /** The ids of every ACK Alice sends, per ACK envelope. */
  const ackedIdLists = (): string[][] => commands.flatMap((c) => (c.op === 'send' ? c.frame.split('\n') : []))
    .map((part) => JSON.parse(part) as { type: string; body: { msgIds?: string[] } })
    .filter((env) => env.type === 'ACK')
    .map((env) => env.body.msgIds ?? []);

  it('stores and ACKs a burst in slices of at most MAX_TURN_ITEMS, each slice on disk before its ACK', async () => {
    const count = 3 * MAX_TURN_ITEMS + 17;
    const ids = Array.from({ length: count }, () => randomId());
    const unstoredAtAck: string[] = [];
    const off = alice.on('mesh.command', (c) => {
      if (c.op !== 'send') return;
      for (const part of c.frame.split('\n')) {
        const env = JSON.parse(part) as { type: string; body: { msgIds?: string[] } };
        if (env.type !== 'ACK') continue;
        const acked = env.body.msgIds ?? [];
        const onDisk = storedIds(acked);
        unstoredAtAck.push(...acked.filter((id) => !onDisk.has(id)));
      }
    });
    try {
      // Frames of 100 messages, all handed over in one go, as a burst arrives from the channel.
      const frames: string[] = [];
      for (let i = 0; i < count; i += 100) frames.push(ids.slice(i, i + 100).map((id, k) => chat(id, `burst ${i + k}`)).join('\n'));
      await Promise.all(frames.map((f) => inject(f)));
      await eventually(async () => new Set(ackedIdLists().flat()), (acked) => ids.every((id) => acked.has(id)), 60_000);
    } finally {
      off();
    }
    const lists = ackedIdLists().filter((l) => l.some((id) => ids.includes(id)));
    expect(Math.max(...lists.map((l) => l.length))).toBeLessThanOrEqual(MAX_TURN_ITEMS);
    expect(lists.length).toBeGreaterThanOrEqual(Math.ceil(count / MAX_TURN_ITEMS));
    expect(unstoredAtAck).toEqual([]);
    expect(storedIds(ids).size).toBe(count);
  }, 90_000);

  it('a new message is on disk before it shows, its frame leaves before the bookkeeping, and its ACK supersedes the held-back writes', async () => {
    // Everything in the order it happened; the message's id is known only afterwards.
    const log: { kind: 'frame' | 'message' | 'status'; text: string; onDisk?: boolean }[] = [];
    const offs = [
      alice.on('mesh.command', (c) => { if (c.op === 'send') log.push({ kind: 'frame', text: c.frame }); }),
      alice.on('message', (m) => log.push({ kind: 'message', text: m.id, onDisk: row(m.id) !== undefined })),
      alice.on('status', (st) => log.push({ kind: 'status', text: `${st.id} ${st.status}` })),
    ];
    try {
      const { id } = await alice.handle('messages.send', { to: bob.userId, text: 'hot path one' });
      await eventually(async () => log.some((l) => l.text === `${id} sent`), (x) => x, 30_000);
      const frameAt = log.findIndex((l) => l.kind === 'frame' && l.text.includes(id));
      const messageAt = log.findIndex((l) => l.kind === 'message' && l.text === id);
      const sentAt = log.findIndex((l) => l.text === `${id} sent`);
      expect(frameAt).toBeGreaterThanOrEqual(0);
      expect(log[messageAt]?.onDisk).toBe(true);
      expect(frameAt).toBeLessThan(messageAt);
      expect(messageAt).toBeLessThan(sentAt);
      const frame = log[frameAt]!.text.split('\n').find((part) => part.includes(id))!;
      expect(decodeEnvelope(frame, { self: bob.userId, signer: nodeSigner, now: Date.now() }).ok).toBe(true);

      await inject(encodeEnvelope(signEnvelope({ type: 'ACK', to: alice.userId, body: { msgIds: [id] } }, bobIdentity, nodeSigner)));
      await eventually(async () => row(id)?.status, (st) => st === 'delivered', 30_000);
      expect(outboxRow(id)).toBeUndefined();
      expect(log.filter((l) => l.kind === 'status' && l.text.startsWith(id)).map((l) => l.text)).toEqual([`${id} sent`, `${id} delivered`]);
    } finally {
      for (const off of offs) off();
    }
  }, 60_000);

  it('without an ACK the held-back attempt and `sent` reach the disk, and a retry announces no second `sent`', async () => {
    const statuses: string[] = [];
    let id = '';
    const off = alice.on('status', (st) => { if (st.id === id || id === '') statuses.push(`${st.id} ${st.status}`); });
    try {
      ({ id } = await alice.handle('messages.send', { to: bob.userId, text: 'hot path unacked' }));
      await eventually(async () => ({ status: row(id)?.status, out: outboxRow(id) }),
        (r) => r.status === 'sent' && (r.out?.attempts ?? 0) >= 1 && (r.out?.nextAttemptAt ?? 0) > (r.out?.createdAt ?? Infinity), 30_000);
      // The retry timer sends it again (about 2 s later): still one `sent`.
      await eventually(async () => commands.filter((c) => c.op === 'send' && c.frame.includes(id)).length, (n) => n >= 2, 30_000);
      await eventually(async () => outboxRow(id)?.attempts ?? 0, (n) => n >= 2, 30_000);
      expect(statuses.filter((x) => x.startsWith(id))).toEqual([`${id} sent`]);
    } finally {
      off();
    }
  }, 60_000);
});
