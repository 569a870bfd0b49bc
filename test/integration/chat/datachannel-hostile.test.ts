/**
 * Hostile data-channel input reaching the host: frames are injected exactly where the renderer's
 * mesh hands them over (mesh.report), so every check the host makes is exercised without WebRTC.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import type { HostApi } from '../../../src/main/host/host';
import type { MeshCommand } from '../../../src/shared/api';
import { encodeEnvelope, signEnvelope, UNSIGNED, unsignedEnvelope } from '../../../src/shared/envelope';
import { generateIdentity, type Identity } from '../../../src/shared/identity';
import { randomId } from '../../../src/shared/ids';
import { startBridgedHosts, type BridgedHosts } from '../../helpers/bridged-hosts';
import { eventually } from '../../helpers/headless-peer';

describe('hostile data-channel frames', () => {
  let alice: HostApi;
  let bob: HostApi;
  let bobIdentity: Identity;
  let session: string;
  let hosts: BridgedHosts;
  let commands: MeshCommand[];

  beforeAll(async () => {
    hosts = await startBridgedHosts('dc');
    ({ alice, bob, bobIdentity, session, commands } = hosts);
  });
  afterAll(async () => {
    await hosts?.close();
  });

  const inject = (frame: string, from = bob.userId) => alice.handle('mesh.report', { kind: 'frame', session, userId: from, frame });
  const chat = (text: string, opts: { id?: string; ts?: number; to?: string; signer?: Identity } = {}) =>
    encodeEnvelope(signEnvelope({ type: 'CHAT_MESSAGE', to: opts.to ?? alice.userId, id: opts.id, ts: opts.ts, body: { text, sentAt: Date.now() } }, opts.signer ?? bobIdentity, nodeSigner));
  const shown = async () => (await alice.handle('messages.list', { with: bob.userId })).map((m) => m.text);
  const rejected = (code: string) => alice.rejectStats()[`datachannel:${code}`] ?? 0;
  const acksFor = (id: string) => commands.filter((c) => c.op === 'send' && c.frame.includes(id)).length;

  it('stores a genuine message once, ACKs every copy, and rejects forged, replayed and malformed frames', async () => {
    const id = randomId();
    const genuine = chat('hello alice', { id });
    await inject(genuine);
    await eventually(shown, (t) => t.includes('hello alice'));
    await eventually(async () => acksFor(id), (n) => n === 1);

    // The same frame again is a replay; a retransmission (same id, new ts) is shown once, ACKed again.
    await inject(genuine);
    await inject(chat('hello alice', { id, ts: Date.now() + 1 }));
    await eventually(async () => acksFor(id), (n) => n === 2);
    expect(rejected('REPLAY')).toBe(1);

    const stranger = generateIdentity();
    const forged = JSON.parse(chat('forged', { signer: stranger })) as Record<string, unknown>;
    await inject(JSON.stringify({ ...forged, from: bob.userId }));
    await inject(chat('not for alice', { to: generateIdentity().userId }));
    await inject(chat('wrong channel'), stranger.userId);
    await inject('{"v":1,"type":');
    await inject(encodeEnvelope(signEnvelope({ type: 'LAUNCH', to: alice.userId, body: {} }, bobIdentity, nodeSigner)));
    await inject(encodeEnvelope(signEnvelope({ type: 'CHAT_MESSAGE', to: alice.userId, body: { text: 'x'.repeat(16_001) } }, bobIdentity, nodeSigner)));
    await inject(chat('from the past', { ts: Date.now() - 3_600_000 }));
    // A batch frame: garbage beside a valid envelope loses only the garbage.
    await inject(`not json\n${chat('batched')}`);

    await eventually(shown, (t) => t.includes('batched'));
    expect(await shown()).toEqual(['hello alice', 'batched']);
    expect(rejected('BAD_SIGNATURE')).toBe(1);
    expect(rejected('WRONG_RECIPIENT')).toBe(2);
    expect(rejected('BAD_JSON')).toBe(2);
    expect(rejected('UNKNOWN_TYPE')).toBe(1);
    expect(rejected('SCHEMA')).toBe(1);
    expect(rejected('STALE')).toBe(1);

    // An ACK from Bob for a message Alice never sent him changes nothing.
    await inject(encodeEnvelope(signEnvelope({ type: 'ACK', to: alice.userId, body: { msgId: randomId() } }, bobIdentity, nodeSigner)));
    await eventually(async () => rejected('UNAUTHORIZED'), (n) => n === 1);
  });

  it('ACKs on the direct channel go unsigned, and an unsigned ACK is taken only from its own sender\'s channel', async () => {
    const id = randomId();
    await inject(chat('ack me', { id }));
    await eventually(async () => acksFor(id), (n) => n === 1);
    const ack = commands.flatMap((c) => (c.op === 'send' ? c.frame.split('\n') : [])).map((p) => JSON.parse(p) as { type: string; sig: string; body: { msgIds?: string[] } })
      .find((env) => env.type === 'ACK' && env.body.msgIds?.includes(id));
    expect(ack?.sig).toBe(UNSIGNED);

    // Alice's message to Bob; an unsigned ACK "from Bob" on a stranger's channel must not mark it delivered.
    const { id: mine } = await alice.handle('messages.send', { to: bob.userId, text: 'for bob' });
    const before = rejected('WRONG_RECIPIENT');
    await inject(encodeEnvelope(unsignedEnvelope({ type: 'ACK', to: alice.userId, body: { msgIds: [mine] } }, bobIdentity)), generateIdentity().userId);
    await eventually(async () => rejected('WRONG_RECIPIENT'), (n) => n === before + 1);
    const status = async () => (await alice.handle('messages.list', { with: bob.userId })).find((m) => m.id === mine)?.status;
    expect(await status()).not.toBe('delivered');
    // The same on Bob's own channel is his ACK.
    await inject(encodeEnvelope(unsignedEnvelope({ type: 'ACK', to: alice.userId, body: { msgIds: [mine] } }, bobIdentity)));
    await eventually(status, (s) => s === 'delivered');
  });
});
