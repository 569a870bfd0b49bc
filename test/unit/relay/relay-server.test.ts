/** The relay's rules without WebRTC: who may open a pair, the caps, and what ends one. */
import { describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { RelayServer } from '../../../src/main/host/relay/relay-server';
import type { MeshLike } from '../../../src/main/host/transport';
import type { ConnectionState } from '../../../src/shared/api';
import { RejectCounter } from '../../../src/shared/errors';
import { generateIdentity } from '../../../src/shared/identity';
import { randomId } from '../../../src/shared/ids';

type Sent = { to: string; type: string; body: Record<string, unknown> };

function setup(opts: { enabled?: boolean; limits?: ConstructorParameters<typeof RelayServer>[0]['limits'] } = {}) {
  const me = generateIdentity();
  const [a, c, d, stranger] = [generateIdentity(), generateIdentity(), generateIdentity(), generateIdentity()];
  const contacts = new Set([a.userId, c.userId, d.userId]);
  const connected = new Set([a.userId, c.userId, d.userId]);
  const sent: Sent[] = [];
  const mesh = {
    send: (to: string, frame: string) => {
      const env = JSON.parse(frame) as { type: string; body: Record<string, unknown> };
      sent.push({ to, type: env.type, body: env.body });
      return true;
    },
    state: (u: string): ConnectionState => (connected.has(u) ? 'CONNECTED' : 'DISCONNECTED'),
    bufferedAmount: () => 0,
  } as unknown as MeshLike;
  let now = 1_000_000;
  const rejects = new RejectCounter();
  let enabled = opts.enabled ?? true;
  const server = new RelayServer({
    identity: me, signer: nodeSigner, mesh, rejects, isContact: (u) => contacts.has(u), enabled: () => enabled, limits: opts.limits, now: () => now,
  });
  const open = (x: string, y: string): void => {
    server.onRequest(x, { target: y, requestId: randomId() });
    const fwd = sent.filter((s) => s.to === y && s.type === 'RELAY_REQUEST').at(-1)!;
    server.onResponse(y, { target: y, source: x, requestId: String(fwd.body.requestId), accept: true });
  };
  return {
    server, sent, rejects, a: a.userId, c: c.userId, d: d.userId, stranger: stranger.userId, connected,
    open, tick: (ms: number) => (now += ms), setEnabled: (v: boolean) => (enabled = v),
    count: (code: string) => rejects.snapshot()[`relay:${code}`] ?? 0,
  };
}

describe('RelayServer', () => {
  it('opens a pair only when both ends are contacts, relaying is on and the target says yes', () => {
    const t = setup();
    t.server.onRequest(t.stranger, { target: t.c, requestId: randomId() });
    t.server.onRequest(t.a, { target: t.stranger, requestId: randomId() });
    expect(t.count('UNAUTHORIZED')).toBe(2);
    expect(t.sent.filter((s) => s.type === 'RELAY_RESPONSE').every((s) => s.body.accept === false)).toBe(true);
    expect(t.sent.some((s) => s.type === 'RELAY_REQUEST')).toBe(false);

    const requestId = randomId();
    t.server.onRequest(t.a, { target: t.c, requestId });
    const fwd = t.sent.find((s) => s.type === 'RELAY_REQUEST')!;
    expect(fwd).toMatchObject({ to: t.c, body: { target: t.c, source: t.a } });
    t.server.onResponse(t.c, { target: t.c, source: t.a, requestId: String(fwd.body.requestId), accept: true });
    expect(t.sent.at(-1)).toMatchObject({ to: t.a, type: 'RELAY_RESPONSE', body: { target: t.c, requestId, accept: true } });
    expect(t.server.listPairs()).toEqual([expect.objectContaining({ open: true })]);

    t.server.onRelay(t.a, { target: t.c, frame: 'QUJD' });
    expect(t.sent.at(-1)).toMatchObject({ to: t.c, type: 'RELAY', body: { target: t.c, source: t.a, frame: 'QUJD' } });
    // A frame outside the pair (D never asked) is dropped and counted.
    t.server.onRelay(t.d, { target: t.c, frame: 'QUJD' });
    expect(t.count('UNAUTHORIZED')).toBe(3);
  });

  it('refuses when relaying is off, and ends open pairs when it is turned off', () => {
    const t = setup({ enabled: false });
    t.server.onRequest(t.a, { target: t.c, requestId: randomId() });
    expect(t.sent.at(-1)?.body).toMatchObject({ accept: false, reason: 'relaying is off on this device' });
    t.setEnabled(true);
    t.open(t.a, t.c);
    t.setEnabled(false);
    t.server.onRelay(t.a, { target: t.c, frame: 'QUJD' });
    expect(t.server.pairCount).toBe(0);
    expect(t.sent.filter((s) => s.type === 'RELAY_RESPONSE' && s.body.accept === false && s.body.reason === 'relaying stopped on this device').map((s) => s.to).sort()).toEqual([t.a, t.c].sort());
  });

  it('caps pairs in all and per contact', () => {
    const t = setup({ limits: { maxPairs: 1 } });
    t.open(t.a, t.c);
    t.server.onRequest(t.a, { target: t.d, requestId: randomId() });
    expect(t.count('FULL')).toBe(1);
    expect(t.server.pairCount).toBe(1);
    const u = setup({ limits: { maxPairsPerPeer: 1 } });
    u.open(u.a, u.c);
    u.server.onRequest(u.d, { target: u.c, requestId: randomId() });
    expect(u.count('FULL')).toBe(1);
  });

  it('drops what is over the pair bandwidth and forwards again once the bucket refills', () => {
    const t = setup({ limits: { pairBytesPerSec: 1000, pairBurstBytes: 1000 } });
    t.open(t.a, t.c);
    const frame = 'A'.repeat(400);
    for (let i = 0; i < 5; i++) t.server.onRelay(t.a, { target: t.c, frame });
    expect(t.server.counters.framesForwarded).toBe(2);
    expect(t.count('RATE_LIMITED')).toBe(3);
    t.tick(1000);
    t.server.onRelay(t.c, { target: t.a, frame });
    expect(t.server.counters.framesForwarded).toBe(3);
  });

  it('tells the other end when one end goes away, and forgets the pair', () => {
    const t = setup();
    t.open(t.a, t.c);
    t.connected.delete(t.c);
    t.server.onPeerGone(t.c);
    expect(t.server.pairCount).toBe(0);
    expect(t.sent.at(-1)).toMatchObject({ to: t.a, type: 'RELAY_RESPONSE', body: { target: t.c, accept: false } });
  });

  it('a flood of requests for strangers leaves nothing behind', () => {
    const t = setup();
    for (let i = 0; i < 10_000; i++) t.server.onRequest(t.a, { target: randomId() + randomId(), requestId: randomId() });
    expect(t.server.pairCount).toBe(0);
    expect(t.count('UNAUTHORIZED')).toBe(10_000);
  });
});
