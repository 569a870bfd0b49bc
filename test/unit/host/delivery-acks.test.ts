/**
 * Which ACKs delivery accepts without a signature (DESIGN section 2, issue 11): only one that came
 * on our own direct data channel to its sender, for a message we sent that sender. An unsigned ACK
 * that arrives any other way (relayed, deposited in the mailbox inbox), on the channel of another
 * peer, or for someone else's message is refused and counted; nothing is marked delivered.
 * Delivery runs on a real store with a fake mesh that records what leaves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { Delivery } from '../../../src/main/host/delivery';
import { openDeposit } from '../../../src/main/host/mailbox-tier';
import type { MeshLike } from '../../../src/main/host/transport';
import { openStore } from '../../../src/main/store';
import type { Store } from '../../../src/main/store/types';
import type { MessageStatus } from '../../../src/shared/api';
import { sealTo } from '../../../src/shared/box';
import { utf8 } from '../../../src/shared/encoding';
import { decodeEnvelope, encodeEnvelope, signEnvelope, UNSIGNED, unsignedEnvelope, type Envelope } from '../../../src/shared/envelope';
import { RejectCounter } from '../../../src/shared/errors';
import { generateIdentity, type Identity } from '../../../src/shared/identity';

const alice = generateIdentity();
const bob = generateIdentity();
const carol = generateIdentity();
const turns = async (n = 3): Promise<void> => { for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r)); };

describe('unsigned ACKs', () => {
  let dir: string;
  let store: Store;
  let delivery: Delivery;
  let rejects: RejectCounter;
  let sent: { peer: string; frame: string }[];
  let statuses: [string, MessageStatus][];
  /** Which peers frames leave to on a direct channel (the rest: through a relay). */
  let direct: Set<string>;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-acks-'));
    store = openStore(join(dir, 'parley.db'));
    for (const c of [bob, carol]) store.upsertContact({ userId: c.userId, name: 'c', state: 'accepted' });
    rejects = new RejectCounter();
    sent = [];
    statuses = [];
    direct = new Set([bob.userId, carol.userId]);
    const mesh = {
      state: () => 'CONNECTED',
      send: (peer: string, frame: string) => { sent.push({ peer, frame }); return true; },
      bufferedAmount: () => 0,
    } as unknown as MeshLike;
    delivery = new Delivery({
      store, identity: alice, signer: nodeSigner, mesh, rejects,
      isContact: (u) => u === bob.userId || u === carol.userId,
      onMessage: () => {},
      onStatus: (id, status) => statuses.push([id, status]),
      directPath: (peer) => direct.has(peer),
    });
  });
  afterEach(() => {
    delivery.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const sendToBob = async (): Promise<string> => {
    const { id } = await delivery.send(bob.userId, 'hello bob');
    await turns();
    return id;
  };
  const ackFrom = (who: Identity, msgId: string): string => encodeEnvelope(unsignedEnvelope({ type: 'ACK', to: alice.userId, body: { msgIds: [msgId] } }, who));
  const delivered = (id: string): boolean => statuses.some(([s, st]) => s === id && st === 'delivered');
  const statusOf = (id: string): string | undefined => store.getMessage(id)?.status;

  it('takes an unsigned ACK from the direct channel of the message\'s recipient', async () => {
    const id = await sendToBob();
    delivery.onFrame(bob.userId, ackFrom(bob, id), true);
    await turns();
    expect(delivered(id)).toBe(true);
    expect(statusOf(id)).toBe('delivered');
    expect(rejects.total).toBe(0);
  });

  it('announces `delivered` once, before its write, which lands at the next turn; meanwhile the message is not sent again', async () => {
    const id = await sendToBob();
    const before = sent.length;
    const deliveredCount = (): number => statuses.filter(([s, st]) => s === id && st === 'delivered').length;
    delivery.onFrame(bob.userId, ackFrom(bob, id), true);
    expect(deliveredCount()).toBe(1); // within the frame's handling, from memory
    expect(statusOf(id)).not.toBe('delivered'); // the write is behind the event
    void delivery.flush(bob.userId, true); // a channel opening now resends the outbox: not this one
    delivery.onFrame(bob.userId, ackFrom(bob, id), true); // a retry's ACK
    await turns();
    expect(statusOf(id)).toBe('delivered');
    expect(store.outboxFor(bob.userId).map((r) => r.msgId)).not.toContain(id);
    expect(deliveredCount()).toBe(1);
    expect(sent.slice(before).some((s) => s.frame.includes(id))).toBe(false);
    expect(rejects.total).toBe(0);
  });

  it('writes an announced `delivered` when stopped before the next turn', async () => {
    const id = await sendToBob();
    delivery.onFrame(bob.userId, ackFrom(bob, id), true);
    delivery.stop();
    expect(statusOf(id)).toBe('delivered');
    expect(store.outboxFor(bob.userId)).toEqual([]);
  });

  it('refuses an unsigned ACK that did not come on a direct channel (relayed)', async () => {
    const id = await sendToBob();
    delivery.onFrame(bob.userId, ackFrom(bob, id)); // relayClient.deliver's way in: not direct
    await turns();
    expect(rejects.snapshot()['datachannel:BAD_SIGNATURE']).toBe(1);
    expect(rejects.recent()[0]?.reason).toMatch(/unsigned ACK/);
    expect(delivered(id)).toBe(false);
    expect(statusOf(id)).not.toBe('delivered');
    // The same ACK signed is fine on that path.
    delivery.onFrame(bob.userId, encodeEnvelope(signEnvelope({ type: 'ACK', to: alice.userId, body: { msgIds: [id] } }, bob, nodeSigner)));
    await turns();
    expect(delivered(id)).toBe(true);
  });

  it('refuses an unsigned ACK deposited in the mailbox inbox', async () => {
    const id = await sendToBob();
    const deposit = JSON.stringify({ v: 1, from: bob.userId, sealed: sealTo(alice.userId, utf8(ackFrom(bob, id)), bob) });
    const deps = { identity: alice, signer: nodeSigner, rejects, isContact: (u: string) => u === bob.userId };
    expect(openDeposit(deposit, deps)).toBeNull();
    expect(rejects.snapshot()['mailbox:BAD_SIGNATURE']).toBe(1);
    // A signed one opens (and is what the mailbox tier hands to acceptStoredAck).
    const signed = encodeEnvelope(signEnvelope({ type: 'ACK', to: alice.userId, body: { msgIds: [id] } }, bob, nodeSigner));
    const opened = openDeposit(JSON.stringify({ v: 1, from: bob.userId, sealed: sealTo(alice.userId, utf8(signed), bob) }), deps);
    expect(opened?.type).toBe('ACK');
  });

  it('refuses an unsigned ACK on the channel of a different peer, and one for a message not sent to that peer', async () => {
    const id = await sendToBob();
    // Claims to be Bob's, arrives on Carol's channel: nothing vouches for it.
    delivery.onFrame(carol.userId, ackFrom(bob, id), true);
    // Carol's own, on her own channel, for Bob's message.
    delivery.onFrame(carol.userId, ackFrom(carol, id), true);
    await turns();
    expect(rejects.snapshot()['datachannel:WRONG_RECIPIENT']).toBe(1);
    expect(rejects.snapshot()['datachannel:UNAUTHORIZED']).toBe(1);
    expect(delivered(id)).toBe(false);
    expect(statusOf(id)).not.toBe('delivered');
  });

  it('refuses an unsigned CHAT_MESSAGE even on a direct channel', async () => {
    const chat = unsignedEnvelope({ type: 'CHAT_MESSAGE', to: alice.userId, body: { text: 'unsigned', sentAt: Date.now() } }, bob);
    delivery.onFrame(bob.userId, encodeEnvelope(chat), true);
    await turns();
    expect(rejects.snapshot()['datachannel:BAD_SIGNATURE']).toBe(1);
    expect(store.getMessage(chat.id)).toBeUndefined();
  });

  it('ACKs unsigned on a direct channel and signed through a relay', async () => {
    const ackOf = (msgId: string): Envelope | undefined => sent.flatMap((s) => s.frame.split('\n'))
      .map((part) => JSON.parse(part) as Envelope<{ msgIds?: string[] }>)
      .find((env) => env.type === 'ACK' && env.body.msgIds?.includes(msgId));
    const chatFromBob = () => signEnvelope({ type: 'CHAT_MESSAGE', to: alice.userId, body: { text: 'hi alice', sentAt: Date.now() } }, bob, nodeSigner);

    const first = chatFromBob();
    delivery.onFrame(bob.userId, encodeEnvelope(first), true);
    await turns();
    expect(ackOf(first.id)?.sig).toBe(UNSIGNED);

    direct.delete(bob.userId); // the path to Bob is a relay now
    const second = chatFromBob();
    delivery.onFrame(bob.userId, encodeEnvelope(second));
    await turns();
    const ack = ackOf(second.id);
    expect(ack?.sig).not.toBe(UNSIGNED);
    expect(decodeEnvelope(encodeEnvelope(ack!), { self: bob.userId, signer: nodeSigner }).ok).toBe(true);
  });
});
