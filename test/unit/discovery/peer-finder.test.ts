/**
 * PEER_QUERY / PEER_FOUND / PEER_NOT_FOUND between real PeerFinders (signed envelopes, bodies
 * checked by the data-channel schemas) over an in-memory stand-in for the data channels.
 */
import { describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { PeerFinder } from '../../../src/main/host/discovery/peer-finder';
import type { MeshLike } from '../../../src/main/host/transport';
import type { ConnectionState } from '../../../src/shared/api';
import type { Envelope } from '../../../src/shared/envelope';
import { RejectCounter } from '../../../src/shared/errors';
import { generateIdentity } from '../../../src/shared/identity';
import { parseDataChannelBody } from '../../../src/shared/schemas/datachannel';

interface Node {
  userId: string;
  finder: PeerFinder;
  rejects: RejectCounter;
  contacts: Set<string>;
  links: Set<string>;
  sent: Array<{ to: string; type: string }>;
  discoverable: boolean;
}

/** A set of peers; `link(a, b)` opens a "channel" both ways. Frames arrive on a later microtask, as on a real channel. */
function network(names: string[]) {
  const nodes = new Map<string, Node>();
  const byName: Record<string, Node> = {};
  for (const name of names) {
    const identity = generateIdentity();
    const node: Node = { userId: identity.userId, finder: null as unknown as PeerFinder, rejects: new RejectCounter(), contacts: new Set(), links: new Set(), sent: [], discoverable: true };
    const mesh = {
      send: (to: string, frame: string) => {
        if (!node.links.has(to)) return false;
        const env = JSON.parse(frame) as Envelope;
        node.sent.push({ to, type: env.type });
        const body = parseDataChannelBody(env.type, env.body);
        if (!body.ok) throw new Error(`${env.type} body refused by its schema: ${body.reason}`);
        queueMicrotask(() => nodes.get(to)?.finder.onEnvelope(node.userId, env));
        return true;
      },
      state: (u: string): ConnectionState => (node.links.has(u) ? 'CONNECTED' : 'DISCONNECTED'),
      peers: () => [...node.links].map((userId) => ({ userId, state: 'CONNECTED' as ConnectionState })),
    } as unknown as MeshLike;
    node.finder = new PeerFinder({
      identity, signer: nodeSigner, mesh, rejects: node.rejects, isContact: (u) => node.contacts.has(u),
      discoverable: () => node.discoverable, ownSignalAddrs: () => [`ws://127.0.0.1:1/${name}`],
    });
    nodes.set(node.userId, node);
    byName[name] = node;
  }
  const link = (a: Node, b: Node, contacts = true): void => {
    a.links.add(b.userId);
    b.links.add(a.userId);
    if (contacts) {
      a.contacts.add(b.userId);
      b.contacts.add(a.userId);
    }
  };
  const flush = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  return { n: byName, link, flush };
}

const FOREVER = 3_600_000;
const rejected = (n: Node, code: string): number => n.rejects.snapshot()[`datachannel:${code}`] ?? 0;

describe('PeerFinder', () => {
  it('a peer that does not know the target answers PEER_NOT_FOUND at once: the query ends when everyone asked has answered', async () => {
    const { n, link } = network(['alice', 'bob', 'dave', 'carol']);
    link(n.alice!, n.bob!);
    link(n.alice!, n.dave!);
    const got = await n.alice!.finder.find(n.carol!.userId, FOREVER, () => true);
    expect(got).toEqual({ route: null, reason: 'not-found', asked: 2, answers: 2 });
    expect(n.bob!.sent).toEqual([{ to: n.alice!.userId, type: 'PEER_NOT_FOUND' }]);
    expect(n.dave!.sent).toEqual([{ to: n.alice!.userId, type: 'PEER_NOT_FOUND' }]);
    expect(n.bob!.finder.counters.queriesNotFound).toBe(1);
  });

  it('a peer connected to the target answers PEER_FOUND with its address; one not-found answer does not end the query early', async () => {
    const { n, link, flush } = network(['alice', 'bob', 'dave', 'carol']);
    link(n.alice!, n.bob!);
    link(n.alice!, n.dave!);
    link(n.bob!, n.carol!);
    n.carol!.finder.sendNetworkState();
    await flush();
    const got = await n.alice!.finder.find(n.carol!.userId, FOREVER, () => true);
    expect(got).toMatchObject({ route: { signalAddr: 'ws://127.0.0.1:1/carol', via: n.bob!.userId }, reason: 'found', asked: 2 });
    expect(got.answers).toBeGreaterThanOrEqual(1);
  });

  it('a channel that opens hears our NETWORK_STATE at once (only that peer), so it can point to us straight away', async () => {
    const { n, link, flush } = network(['alice', 'bob', 'carol']);
    link(n.alice!, n.bob!);
    link(n.bob!, n.carol!);
    n.carol!.finder.connectionsChanged({ opened: n.bob!.userId });
    expect(n.carol!.sent).toEqual([{ to: n.bob!.userId, type: 'NETWORK_STATE' }]);
    await flush();
    const got = await n.alice!.finder.find(n.carol!.userId, FOREVER, () => true);
    expect(got).toMatchObject({ route: { signalAddr: 'ws://127.0.0.1:1/carol', via: n.bob!.userId }, reason: 'found' });
    n.carol!.finder.stop();
  });

  it('an address the asker will not take counts as an answer, not a route', async () => {
    const { n, link, flush } = network(['alice', 'bob', 'carol']);
    link(n.alice!, n.bob!);
    link(n.bob!, n.carol!);
    n.carol!.finder.sendNetworkState();
    await flush();
    const got = await n.alice!.finder.find(n.carol!.userId, FOREVER, () => false);
    expect(got).toEqual({ route: null, reason: 'not-found', asked: 1, answers: 1 });
  });

  it('a target that does not let itself be found is answered PEER_NOT_FOUND, never with its address', async () => {
    const { n, link, flush } = network(['alice', 'bob', 'carol']);
    n.carol!.discoverable = false;
    link(n.alice!, n.bob!);
    link(n.bob!, n.carol!);
    n.carol!.finder.sendNetworkState();
    await flush();
    const got = await n.alice!.finder.find(n.carol!.userId, FOREVER, () => true);
    expect(got).toEqual({ route: null, reason: 'not-found', asked: 1, answers: 1 });
    expect(n.bob!.sent.filter((s) => s.to === n.alice!.userId).map((s) => s.type)).toEqual(['PEER_NOT_FOUND']);
  });

  it('a non-contact asking gets no answer at all, and the asker waits for its timeout', async () => {
    const { n, link } = network(['mallory', 'bob', 'carol']);
    link(n.mallory!, n.bob!, false);
    n.mallory!.contacts.add(n.bob!.userId); // she treats Bob as a contact; he does not
    const got = await n.mallory!.finder.find(n.carol!.userId, 50, () => true);
    expect(got).toEqual({ route: null, reason: 'timeout', asked: 1, answers: 0 });
    expect(n.bob!.sent).toEqual([]);
    expect(rejected(n.bob!, 'UNAUTHORIZED')).toBe(1);
  });

  it('a PEER_NOT_FOUND from a peer that was not asked (or about someone else) is refused and does not end the query', async () => {
    const { n, link, flush } = network(['alice', 'bob', 'eve', 'carol']);
    link(n.alice!, n.bob!);
    link(n.alice!, n.eve!);
    n.bob!.contacts.delete(n.alice!.userId); // Bob will not answer, so the query stays open
    n.bob!.finder.onEnvelope = () => undefined;
    const pending = n.alice!.finder.find(n.carol!.userId, 300, () => true, [n.bob!.userId]);
    const requestId = 'r'.repeat(16);
    // Eve was not asked; her answer (any requestId) must not count.
    n.alice!.finder.onEnvelope(n.eve!.userId, { v: 1, type: 'PEER_NOT_FOUND', id: 'x', from: n.eve!.userId, to: n.alice!.userId, ts: 0, body: { userId: n.carol!.userId, requestId }, sig: '' } as unknown as Envelope);
    await flush();
    expect(rejected(n.alice!, 'UNAUTHORIZED')).toBe(1);
    expect(await pending).toEqual({ route: null, reason: 'timeout', asked: 1, answers: 0 });
  });

  it('nobody to ask: no-peers at once', async () => {
    const { n } = network(['alice', 'carol']);
    expect(await n.alice!.finder.find(n.carol!.userId, FOREVER, () => true)).toEqual({ route: null, reason: 'no-peers', asked: 0, answers: 0 });
  });
});
