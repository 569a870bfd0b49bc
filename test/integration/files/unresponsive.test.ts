/**
 * A receiver that accepts a file and then goes quiet must not leave the sender hanging in
 * `progress` (issue 9). The receiver is a real host whose mesh (@roamhq/wrtc) we hold: its own file
 * code never sees the file channels, so the test alone decides what the receiver answers. The sender
 * is a real `parley peer` process with the stall window shortened (PARLEY_FILE_STALL_MS). Each case
 * must end in `failed` with a reason after a bounded number of stalls, with the sender's retries
 * (a fresh channel, or the offer repeated to ask where the receiver stands) seen on the wire.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { MAX_STALLS } from '../../../src/main/host/files/transfers';
import { decodeWire, encodeWritten } from '../../../src/main/host/files/wire';
import { startHost, type HostApi } from '../../../src/main/host/host';
import { loadOrCreateIdentity } from '../../../src/main/host/keystore';
import { nodeMeshFactory } from '../../../src/main/host/node-mesh';
import type { Mesh } from '../../../src/renderer/mesh';
import { wrapDataChannel, type FileChannel } from '../../../src/renderer/mesh/file-channel';
import { encodeEnvelope, signEnvelope } from '../../../src/shared/envelope';
import type { Identity } from '../../../src/shared/identity';
import { randomId } from '../../../src/shared/ids';
import { MOSQUITTO_URL } from '../../helpers/brokers';
import { eventually, HeadlessPeer, tempProfile, waitConnected } from '../../helpers/headless-peer';
import { fileEvent, randomFile } from './support';

const CHUNK = 64 * 1024;
const CHUNKS = 4;

describe('a receiver that accepts and then goes quiet (real WebRTC)', () => {
  let receiver: HostApi;
  let receiverId: Identity;
  let mesh: Mesh;
  /** The mesh's own `on`, before the host's file code was cut off from its channels. */
  let meshOn: Mesh['on'];
  let sender: HeadlessPeer;
  const work = mkdtempSync(join(tmpdir(), 'parley-unresponsive-'));
  const channels = new Map<string, FileChannel[]>();
  const offers = new Map<string, number>();

  beforeAll(async () => {
    const profile = tempProfile('quiet-receiver');
    receiver = await startHost({
      profileDir: profile, name: 'quiet', brokerUrl: MOSQUITTO_URL,
      meshFactory: (s, self, ice) => {
        mesh = nodeMeshFactory(s, self, ice) as Mesh;
        meshOn = mesh.on.bind(mesh);
        // The host's file transfers never get a channel: this receiver answers only as the test says.
        mesh.on = ((event, listener) => (event === 'channel' ? () => undefined : meshOn(event, listener))) as Mesh['on'];
        return mesh;
      },
    });
    receiverId = loadOrCreateIdentity(profile).identity;
    meshOn('channel', (_peer, dc) => {
      const ch = wrapDataChannel(dc, { drain: 'poll' });
      const id = ch.label.slice('file:'.length);
      channels.set(id, [...(channels.get(id) ?? []), ch]);
    });
    meshOn('frame', (_peer, frame) => {
      const env = JSON.parse(frame) as { type?: string; body?: { fileId?: string } };
      if (env.type === 'FILE_OFFER' && env.body?.fileId) offers.set(env.body.fileId, (offers.get(env.body.fileId) ?? 0) + 1);
    });
    sender = await HeadlessPeer.start({ profile: tempProfile('sender'), name: 'sender', broker: MOSQUITTO_URL, env: { PARLEY_FILE_STALL_MS: '1500' } });
    await sender.signalingUp();
    await eventually(() => receiver.handle('status', {}), (s) => s.signaling === 'connected');
    await receiver.handle('contacts.add', { userId: sender.userId });
    await sender.waitFor((l) => l.event === 'contactRequest' && l.userId === receiver.userId);
    await sender.ok({ op: 'contact.accept', userId: receiver.userId });
    await waitConnected(sender, receiver.userId);
    await eventually(async () => mesh.state(sender.userId), (s) => s === 'CONNECTED');
  });
  afterAll(async () => {
    await sender?.quit();
    await receiver?.close();
  });

  const accept = (fileId: string): void => {
    const env = signEnvelope({ type: 'FILE_ACCEPT', to: sender.userId, body: { fileId, accept: true, ranges: [[0, CHUNKS]] } }, receiverId, nodeSigner);
    if (!mesh.send(sender.userId, encodeEnvelope(env))) throw new Error('message channel closed');
  };
  const offered = async (name: string): Promise<string> => {
    const path = randomFile(work, name, (CHUNKS - 1) * CHUNK + 100);
    const id = String((await sender.ok({ op: 'file.send', to: receiver.userId, path }, 60_000)).id);
    await eventually(async () => offers.get(id) ?? 0, (n) => n >= 1, 30_000);
    return id;
  };
  const stalls = async (): Promise<number> => ((await sender.ok({ op: 'stats' })).files as { stalls: number }).stalls;
  const chatStillWorks = async (): Promise<void> => {
    const { id } = await sender.ok({ op: 'send', to: receiver.userId, text: `still here ${randomId()}` });
    await eventually(async () => await receiver.handle('messages.list', { with: sender.userId }), (ms) => ms.some((m) => m.id === id), 30_000);
  };

  it('accepts, lets the channel open, and never says it is listening: the sender fails with a reason', async () => {
    const before = await stalls();
    const id = await offered('never-listens.bin');
    accept(id);
    await eventually(async () => channels.get(id)?.length ?? 0, (n) => n >= 1, 30_000);
    const failed = await fileEvent(sender, id, 'failed', 60_000);
    expect(String(failed.reason)).toMatch(/accepted but never started receiving/);
    expect(await stalls()).toBe(before + MAX_STALLS);
    // Between the stalls the sender asked where the receiver stands by repeating its offer.
    expect(offers.get(id)).toBeGreaterThanOrEqual(2);
    await eventually(async () => channels.get(id)!.every((ch) => !ch.isOpen), (closed) => closed, 30_000);
    await chatStillWorks();
  });

  it('listens and takes chunks but grants no credit, and never asks again: the sender fails as stalled', async () => {
    const before = await stalls();
    const id = await offered('no-credit.bin');
    accept(id);
    const ch = await eventually(async () => channels.get(id)?.[0], (c) => c !== undefined, 30_000);
    let chunks = 0;
    ch!.onMessage((d) => { if (typeof d !== 'string' && decodeWire(d)?.kind === 'chunk') chunks++; });
    expect(await ch!.opened()).toBe(true);
    ch!.send(encodeWritten(0));
    const failed = await fileEvent(sender, id, 'failed', 60_000);
    expect(String(failed.reason)).toMatch(/stalled/);
    expect(chunks).toBe(CHUNKS);
    expect(await stalls()).toBe(before + MAX_STALLS);
    await chatStillWorks();
  });

  it('takes and credits every chunk but never sends its receipt: the sender asks again, then fails with a reason', async () => {
    const id = await offered('no-receipt.bin');
    accept(id);
    const ch = await eventually(async () => channels.get(id)?.[0], (c) => c !== undefined, 30_000);
    let chunks = 0;
    ch!.onMessage((d) => {
      if (typeof d !== 'string' && decodeWire(d)?.kind === 'chunk' && ++chunks === CHUNKS) ch!.send(encodeWritten(CHUNKS));
    });
    expect(await ch!.opened()).toBe(true);
    ch!.send(encodeWritten(0));
    const files = async () => (await sender.ok({ op: 'files' })).files as { id: string; bytes: number; size: number }[];
    await eventually(files, (fs) => fs.some((f) => f.id === id && f.bytes === f.size), 30_000);
    const failed = await fileEvent(sender, id, 'failed', 60_000);
    expect(String(failed.reason)).toMatch(/never confirmed/);
    expect(offers.get(id)).toBeGreaterThanOrEqual(2);
    await chatStillWorks();
  });
});
