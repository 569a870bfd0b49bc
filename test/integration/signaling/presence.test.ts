/**
 * Presence (seed 000 diagram 8) on both brokers: chat-open while heartbeats arrive; a peer killed
 * with SIGKILL goes offline through its last-will at once, or through the heartbeat timeout when its
 * broadcast status is not followed; and it comes back when it restarts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PresenceTracker, type PresenceChange } from '../../../src/main/signaling/presence';
import { toHex } from '../../../src/shared/encoding';
import { generateIdentity, newDeviceId, type Identity } from '../../../src/shared/identity';
import { BROKER_KINDS, eventually, forgetOnBroker, openTarget, sleep, startClient, type Target, type TestClient } from './helpers';

const FIXTURE = fileURLToPath(new URL('./fixtures/presence-peer.ts', import.meta.url));

interface Peer {
  identity: Identity;
  deviceId: string;
}

async function spawnPeer(url: string, peer: Peer, chatWith: string, heartbeatMs: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    env: {
      ...process.env,
      URL: url,
      SECRET_KEY: toHex(peer.identity.secretKey),
      DEVICE_ID: peer.deviceId,
      PEER: chatWith,
      HEARTBEAT_MS: String(heartbeatMs),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  await eventually(() => out, (text) => text.includes('"ready":true') || child.exitCode !== null, 45_000, 'child peer ready');
  if (child.exitCode !== null) throw new Error(`child peer exited: ${err}`);
  return child;
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function recorder(tracker: PresenceTracker): PresenceChange[] {
  const changes: PresenceChange[] = [];
  tracker.on('presence', (change) => changes.push(change));
  return changes;
}

describe.each(BROKER_KINDS)('presence over %s', (kind) => {
  let target: Target;
  const clients: TestClient[] = [];
  const children: ChildProcess[] = [];
  const trackers: PresenceTracker[] = [];
  const peers: Peer[] = [];

  beforeAll(async () => {
    target = await openTarget(kind);
  });
  afterAll(async () => {
    await Promise.all(children.map(kill));
    for (const tracker of trackers) tracker.stop();
    await Promise.all(clients.map((c) => c.sig.stop()));
    if (kind === 'mosquitto') {
      const peerClients = peers.map((p) => ({ ...p, sig: null as never, messages: [], rejected: [], states: [] }));
      await forgetOnBroker(target.url, [...clients, ...peerClients]);
    }
    await target.close();
  });

  async function observer(options: { timeoutMs: number; followBroadcast?: boolean }) {
    const b = await startClient(target.url);
    clients.push(b);
    const signaling =
      options.followBroadcast === false
        ? { send: b.sig.send.bind(b.sig), on: b.sig.on.bind(b.sig), watchPresence: () => {}, unwatchPresence: () => {}, get connectionState() { return b.sig.connectionState; } }
        : b.sig;
    const tracker = new PresenceTracker({ signaling, timeoutMs: options.timeoutMs, sweepMs: 50 });
    trackers.push(tracker);
    tracker.start();
    return { b, tracker, changes: recorder(tracker) };
  }

  function newPeer(): Peer {
    const peer = { identity: generateIdentity(), deviceId: newDeviceId() };
    peers.push(peer);
    return peer;
  }

  it('shows chat-open while heartbeats arrive, and online when the chat closes', async () => {
    const { b, tracker, changes } = await observer({ timeoutMs: 600 });
    const a = await startClient(target.url);
    clients.push(a);
    const aTracker = new PresenceTracker({ signaling: a.sig, heartbeatMs: 100 });
    trackers.push(aTracker);
    aTracker.start();
    tracker.track(a.identity.userId);
    await eventually(() => tracker.presenceOf(a.identity.userId), (p) => p === 'online', 20_000, 'online from the broadcast status');

    aTracker.openChat(b.identity.userId);
    await eventually(() => tracker.presenceOf(a.identity.userId), (p) => p === 'chat-open', 20_000, 'chat-open');
    // Five timeouts later it is still chat-open: heartbeats are flowing.
    await sleep(3000);
    expect(tracker.presenceOf(a.identity.userId)).toBe('chat-open');
    expect(changes.filter((c) => c.reason === 'timeout')).toEqual([]);
    expect(b.messages.filter((m) => m.type === 'heartbeat').length).toBeGreaterThanOrEqual(5);

    aTracker.closeChat(b.identity.userId);
    await eventually(() => tracker.presenceOf(a.identity.userId), (p) => p === 'online', 20_000, 'online after the chat closed');
    expect(changes.at(-1)).toMatchObject({ presence: 'online', previous: 'chat-open', reason: 'chatPresence' });
  });

  it('a peer killed with SIGKILL goes offline through its last-will, long before the heartbeat timeout, and returns', async () => {
    const { b, tracker, changes } = await observer({ timeoutMs: 120_000 });
    const peer = newPeer();
    tracker.track(peer.identity.userId);
    let child = await spawnPeer(target.url, peer, b.identity.userId, 200);
    children.push(child);
    await eventually(() => tracker.presenceOf(peer.identity.userId), (p) => p === 'chat-open', 20_000, 'chat-open');

    await kill(child);
    await eventually(() => tracker.presenceOf(peer.identity.userId), (p) => p === 'offline', 20_000, 'offline through the will');
    expect(changes.at(-1)).toMatchObject({ userId: peer.identity.userId, presence: 'offline', reason: 'broadcast' });
    const will = b.messages.filter((m) => m.channel === 'presenceTopic' && m.from === peer.identity.userId).at(-1);
    expect(will).toMatchObject({ type: 'presence', body: { status: 'offline' } });

    child = await spawnPeer(target.url, peer, b.identity.userId, 200);
    children.push(child);
    await eventually(() => tracker.presenceOf(peer.identity.userId), (p) => p === 'chat-open', 20_000, 'back to chat-open');
    expect(b.rejected).toEqual([]);
  });

  it('without the broadcast status, a killed peer goes offline after the heartbeat timeout', async () => {
    const { b, tracker, changes } = await observer({ timeoutMs: 1500, followBroadcast: false });
    const peer = newPeer();
    tracker.track(peer.identity.userId);
    const child = await spawnPeer(target.url, peer, b.identity.userId, 200);
    children.push(child);
    await eventually(() => tracker.presenceOf(peer.identity.userId), (p) => p === 'chat-open', 20_000, 'chat-open');
    await sleep(2000);
    expect(tracker.presenceOf(peer.identity.userId), 'heartbeats keep it alive past one timeout').toBe('chat-open');

    await kill(child);
    await eventually(() => tracker.presenceOf(peer.identity.userId), (p) => p === 'offline', 20_000, 'offline after the timeout');
    expect(changes.at(-1)).toMatchObject({ presence: 'offline', reason: 'timeout' });
  });
});
