import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type MessageStatus, type NewMessage, type Store } from '../../../src/main/store';

const ALICE = 'a'.repeat(64);
const BOB = 'b'.repeat(64);
const CAROL = 'c'.repeat(64);

let clock = 1_000;
let store: Store;
beforeEach(() => {
  clock = 1_000;
  store = openStore(':memory:', { now: () => clock });
});
afterEach(() => store.close());

function msg(id: string, ts: number, over: Partial<NewMessage> = {}): NewMessage {
  return { id, peer: BOB, sender: ALICE, recipient: BOB, text: `text ${id}`, ts, status: 'sent', ...over };
}

describe('settings', () => {
  it('round-trips JSON values and overwrites', () => {
    expect(store.getSetting('missing')).toBeUndefined();
    store.setSetting('s', { brokerUrl: 'mqtt://x', iceServers: ['stun:a'] });
    expect(store.getSetting('s')).toEqual({ brokerUrl: 'mqtt://x', iceServers: ['stun:a'] });
    store.setSetting('s', 42);
    expect(store.getSetting('s')).toBe(42);
    store.deleteSetting('s');
    expect(store.getSetting('s')).toBeUndefined();
  });

  it('runs the given parser on read and refuses undefined on write', () => {
    store.setSetting('n', '7');
    expect(store.getSetting('n', (v) => Number(v))).toBe(7);
    expect(() => store.setSetting('u', undefined)).toThrow(/not JSON-serialisable/);
  });
});

describe('identity', () => {
  it('keeps exactly one row', () => {
    expect(store.getIdentityRow()).toBeUndefined();
    store.saveIdentityRow({ userId: ALICE, deviceId: 'd1', displayName: 'Alice', createdAt: 5 });
    store.saveIdentityRow({ userId: ALICE, deviceId: 'd1', displayName: 'Alice B.', createdAt: 5 });
    expect(store.getIdentityRow()).toEqual({ userId: ALICE, deviceId: 'd1', displayName: 'Alice B.', createdAt: 5 });
  });
});

describe('contacts', () => {
  it('lists accepted first, then by name case-insensitively', () => {
    store.upsertContact({ userId: ALICE, name: 'zed', state: 'accepted' });
    store.upsertContact({ userId: BOB, name: 'Amy', state: 'incoming' });
    store.upsertContact({ userId: CAROL, name: 'bea', state: 'accepted' });
    store.upsertContact({ userId: 'd'.repeat(64), name: 'Ann', state: 'outgoing' });
    expect(store.listContacts().map((c) => c.name)).toEqual(['bea', 'zed', 'Amy', 'Ann']);
  });

  it('upsert keeps created_at and presence unless given; state and presence updates report misses', () => {
    store.upsertContact({ userId: BOB, name: 'Bob', state: 'outgoing' });
    expect(store.getContact(BOB)).toEqual({
      userId: BOB, name: 'Bob', state: 'outgoing', presence: 'offline', lastSeen: null, createdAt: 1000, updatedAt: 1000,
    });
    clock = 2_000;
    expect(store.setPresence(BOB, 'online', 1_900)).toBe(true);
    clock = 3_000;
    store.upsertContact({ userId: BOB, name: 'Bobby', state: 'accepted' });
    expect(store.getContact(BOB)).toEqual({
      userId: BOB, name: 'Bobby', state: 'accepted', presence: 'online', lastSeen: 1_900, createdAt: 1000, updatedAt: 3000,
    });
    expect(store.setContactState(BOB, 'declined')).toBe(true);
    expect(store.getContact(BOB)?.state).toBe('declined');
    expect(store.setContactState(CAROL, 'accepted')).toBe(false);
    expect(store.setPresence(CAROL, 'online', 1)).toBe(false);
    expect(store.removeContact(BOB)).toBe(true);
    expect(store.getContact(BOB)).toBeUndefined();
  });

  it('rejects a state outside the union at the database (CHECK)', () => {
    expect(() => store.upsertContact({ userId: BOB, name: 'Bob', state: 'friend' as never })).toThrow(/CHECK/);
  });
});

describe('messages', () => {
  it('de-duplicates by id: a second insert changes nothing', () => {
    expect(store.insertMessage(msg('m1', 10, { text: 'original' }))).toEqual({ inserted: true });
    expect(store.insertMessage(msg('m1', 99, { text: 'replayed', status: 'read' }))).toEqual({ inserted: false });
    expect(store.getMessage('m1')).toMatchObject({ text: 'original', ts: 10, status: 'sent' });
    expect(store.listMessages(BOB, 10)).toHaveLength(1);
  });

  it('assigns a strictly increasing seq and keeps replyTo/receivedAt', () => {
    store.insertMessage(msg('m1', 10));
    store.insertMessage(msg('m2', 5, { sender: BOB, recipient: ALICE, receivedAt: 77, replyTo: 'm1' }));
    expect(store.getMessage('m1')?.seq).toBe(1);
    expect(store.getMessage('m2')).toMatchObject({ seq: 2, receivedAt: 77, replyTo: 'm1' });
  });

  it('lists the newest `limit`, oldest → newest, ties broken by sender then id', () => {
    store.insertMessage(msg('z', 20, { sender: BOB, recipient: ALICE }));
    store.insertMessage(msg('y', 20, { sender: ALICE }));
    store.insertMessage(msg('x', 20, { sender: ALICE }));
    store.insertMessage(msg('old', 1));
    store.insertMessage(msg('new', 30));
    store.insertMessage(msg('other', 25, { peer: CAROL, recipient: CAROL }));
    expect(store.listMessages(BOB, 10).map((m) => m.id)).toEqual(['old', 'x', 'y', 'z', 'new']);
    expect(store.listMessages(BOB, 3).map((m) => m.id)).toEqual(['y', 'z', 'new']);
    expect(store.listMessages(BOB, 10, 20).map((m) => m.id)).toEqual(['old']);
    expect(store.listMessages(BOB, 10, { ts: 20, sender: ALICE, id: 'y' }).map((m) => m.id)).toEqual(['old', 'x']);
    expect(store.listMessages(CAROL, 10).map((m) => m.id)).toEqual(['other']);
  });

  it('order is a function of the messages only, whatever the insertion order (property)', () => {
    const arbMessage = fc.record({
      id: fc.string({ minLength: 1, maxLength: 4 }),
      ts: fc.integer({ min: 0, max: 5 }),
      sender: fc.constantFrom(ALICE, BOB),
    });
    fc.assert(
      fc.property(fc.uniqueArray(arbMessage, { selector: (m) => m.id, maxLength: 30 }), fc.integer({ min: 1, max: 40 }), (items, limit) => {
        const a = openStore(':memory:');
        const b = openStore(':memory:');
        try {
          for (const m of items) a.insertMessage(msg(m.id, m.ts, { sender: m.sender }));
          for (const m of [...items].reverse()) b.insertMessage(msg(m.id, m.ts, { sender: m.sender }));
          const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
          const expected = [...items]
            .sort((p, q) => p.ts - q.ts || cmp(p.sender, q.sender) || cmp(p.id, q.id))
            .slice(-limit)
            .map((m) => m.id);
          expect(a.listMessages(BOB, limit).map((m) => m.id)).toEqual(expected);
          expect(b.listMessages(BOB, limit).map((m) => m.id)).toEqual(expected);
        } finally {
          a.close();
          b.close();
        }
      }),
      { numRuns: 100 },
    );
  });

  it('paging with the oldest message as cursor walks the whole conversation exactly once', () => {
    for (let i = 0; i < 23; i++) store.insertMessage(msg(`m${String(i).padStart(2, '0')}`, Math.floor(i / 4)));
    const seen: string[] = [];
    let page = store.listMessages(BOB, 5);
    while (page.length > 0) {
      seen.unshift(...page.map((m) => m.id));
      const first = page[0];
      if (!first) break;
      page = store.listMessages(BOB, 5, { ts: first.ts, sender: first.sender, id: first.id });
    }
    expect(seen).toEqual(store.listMessages(BOB, 100).map((m) => m.id));
    expect(new Set(seen).size).toBe(23);
  });

  describe('status only moves forward', () => {
    const RANK: Record<MessageStatus, number> = { pending: 0, sent: 1, stored: 2, delivered: 3, read: 4, failed: -1 };
    const cases: [MessageStatus, MessageStatus, boolean][] = [
      ['pending', 'sent', true], ['pending', 'delivered', true], ['pending', 'read', true], ['pending', 'failed', true],
      ['sent', 'pending', false], ['sent', 'sent', false], ['sent', 'delivered', true], ['sent', 'failed', true],
      ['delivered', 'sent', false], ['delivered', 'pending', false], ['delivered', 'failed', false], ['delivered', 'read', true],
      ['read', 'delivered', false], ['read', 'failed', false], ['read', 'read', false],
      ['failed', 'pending', false], ['failed', 'sent', true], ['failed', 'delivered', true], ['failed', 'failed', false],
      ['pending', 'stored', true], ['sent', 'stored', true], ['stored', 'sent', false], ['stored', 'pending', false],
      ['stored', 'failed', false], ['stored', 'delivered', true], ['delivered', 'stored', false], ['failed', 'stored', true],
    ];
    for (const [from, to, changes] of cases) {
      it(`${from} → ${to}: ${changes ? 'changes' : 'refused'}`, () => {
        store.insertMessage(msg('m', 1, { status: from }));
        expect(store.updateMessageStatus('m', to)).toBe(changes);
        expect(store.getMessage('m')?.status).toBe(changes ? to : from);
      });
    }

    it('unknown id changes nothing', () => {
      expect(store.updateMessageStatus('nope', 'sent')).toBe(false);
    });

    it('any sequence of updates never lowers the delivery rank (property)', () => {
      const statuses: MessageStatus[] = ['pending', 'sent', 'stored', 'delivered', 'read', 'failed'];
      fc.assert(
        fc.property(fc.array(fc.constantFrom(...statuses), { maxLength: 12 }), (updates) => {
          const s = openStore(':memory:');
          try {
            s.insertMessage(msg('m', 1, { status: 'pending' }));
            let best = 0;
            for (const u of updates) {
              s.updateMessageStatus('m', u);
              const now = s.getMessage('m')?.status ?? 'pending';
              if (now !== 'failed') {
                expect(RANK[now]).toBeGreaterThanOrEqual(best);
                best = RANK[now];
              } else {
                expect(best).toBeLessThanOrEqual(RANK.sent);
              }
            }
          } finally {
            s.close();
          }
        }),
        { numRuns: 200 },
      );
    });
  });
});

describe('outbox', () => {
  const out = (id: string, ts: number, peer = BOB) => ({ id, peer, sender: ALICE, recipient: peer, text: id, ts });

  it('saveOutgoing stores a pending message and an outbox row together', () => {
    expect(store.saveOutgoing(out('m1', 10), 'env-1')).toEqual({ inserted: true });
    expect(store.getMessage('m1')?.status).toBe('pending');
    expect(store.outboxFor(BOB)).toEqual([
      { msgId: 'm1', peer: BOB, envelope: 'env-1', orderSeq: 1, attempts: 0, nextAttemptAt: 1000, lastError: null, createdAt: 1000 },
    ]);
  });

  it('a duplicate saveOutgoing adds no second outbox row', () => {
    store.saveOutgoing(out('m1', 10), 'env-1');
    expect(store.saveOutgoing(out('m1', 10), 'env-other')).toEqual({ inserted: false });
    expect(store.outboxFor(BOB).map((e) => e.envelope)).toEqual(['env-1']);
  });

  it('is atomic: if the outbox insert fails the message is not stored either', () => {
    // A message already in the outbox table under another id cannot happen through the API, so
    // force the second statement to fail with an envelope that violates NOT NULL.
    expect(() => store.saveOutgoing(out('m1', 10), null as unknown as string)).toThrow(/NOT NULL/);
    expect(store.getMessage('m1')).toBeUndefined();
    expect(store.outboxFor(BOB)).toEqual([]);
  });

  it('keeps enqueue order per peer, lists due entries and peers, records attempts', () => {
    store.saveOutgoing(out('b1', 30), 'e');
    store.saveOutgoing(out('c1', 10, CAROL), 'e');
    store.saveOutgoing(out('b2', 5), 'e'); // an earlier ts does not jump the queue
    expect(store.outboxFor(BOB).map((e) => e.msgId)).toEqual(['b1', 'b2']);
    expect(store.outboxPeers()).toEqual([BOB, CAROL]);

    expect(store.markAttempt('b1', 5_000, 'no route')).toBe(true);
    expect(store.markAttempt('b1', 9_000)).toBe(true);
    expect(store.outboxFor(BOB)[0]).toMatchObject({ attempts: 2, nextAttemptAt: 9_000, lastError: null });
    expect(store.outboxDue(1_000, 10).map((e) => e.msgId)).toEqual(['c1', 'b2']);
    expect(store.outboxDue(9_000, 10).map((e) => e.msgId)).toEqual(['b1', 'c1', 'b2']);
    expect(store.outboxDue(9_000, 2).map((e) => e.msgId)).toEqual(['b1', 'c1']);

    expect(store.removeFromOutbox('c1')).toBe(true);
    expect(store.removeFromOutbox('c1')).toBe(false);
    expect(store.outboxPeers()).toEqual([BOB]);
    expect(store.getMessage('c1')?.status).toBe('pending'); // the message itself stays
    expect(store.markAttempt('c1', 1)).toBe(false);
  });

  it('inside a group commit a failing save rolls back with the whole transaction', () => {
    expect(() => store.transaction(() => {
      store.saveOutgoing(out('g1', 1), 'e');
      store.saveOutgoing(out('g2', 2), null as unknown as string);
    })).toThrow(/NOT NULL/);
    expect(store.getMessage('g1')).toBeUndefined();
    expect(store.getMessage('g2')).toBeUndefined();
    expect(store.outboxFor(BOB)).toEqual([]);
  });

  it('setAttempts writes the count and time delivery kept in memory, never lowering the count', () => {
    store.saveOutgoing(out('b1', 30), 'e');
    expect(store.setAttempts('b1', 3, 7_000)).toBe(true);
    expect(store.outboxFor(BOB)[0]).toMatchObject({ attempts: 3, nextAttemptAt: 7_000 });
    expect(store.markAttempt('b1', 8_000)).toBe(true);
    expect(store.setAttempts('b1', 2, 9_000)).toBe(true);
    expect(store.outboxFor(BOB)[0]).toMatchObject({ attempts: 4, nextAttemptAt: 9_000 });
    expect(store.setAttempts('nope', 1, 1)).toBe(false);
  });

  it('idsSentTo answers an ACK with the ids of messages sent to that recipient only', () => {
    store.saveOutgoing(out('b1', 1), 'e');
    store.saveOutgoing(out('b2', 2), 'e');
    store.saveOutgoing(out('c1', 3, CAROL), 'e');
    store.insertMessage(msg('in1', 4, { peer: BOB, sender: BOB, recipient: ALICE }));
    expect(store.idsSentTo(BOB, ['b2', 'c1', 'missing', 'in1', 'b1']).sort()).toEqual(['b1', 'b2']);
    expect(store.idsSentTo(CAROL, ['b1', 'c1'])).toEqual(['c1']);
    expect(store.idsSentTo(BOB, [])).toEqual([]);
    expect(store.idsSentTo(BOB, ["x') OR 1=1 --", '"', '\\'])).toEqual([]);
  });

  it('markDelivered removes the batch from the outbox and reports only the rows it moved forward', () => {
    store.saveOutgoing(out('b1', 1), 'e');
    store.saveOutgoing(out('b2', 2), 'e');
    store.saveOutgoing(out('b3', 3), 'e');
    store.updateMessageStatus('b2', 'read'); // already past delivered: stays read
    expect([...store.markDelivered(['b1', 'b2', 'missing'])].sort()).toEqual(['b1']);
    expect(store.getMessage('b1')?.status).toBe('delivered');
    expect(store.getMessage('b2')?.status).toBe('read');
    expect(store.outboxFor(BOB).map((e) => e.msgId)).toEqual(['b3']);
    expect(store.markDelivered(['b1'])).toEqual(new Set()); // a second ACK changes nothing
    expect(store.markDelivered([])).toEqual(new Set());
    expect(store.getMessage('b3')?.status).toBe('pending');
  });

  it('order_seq is never reused after the newest entry is removed', () => {
    store.saveOutgoing(out('m1', 1), 'e');
    store.saveOutgoing(out('m2', 2), 'e');
    store.removeFromOutbox('m2');
    store.saveOutgoing(out('m3', 3), 'e');
    expect(store.outboxFor(BOB).map((e) => e.orderSeq)).toEqual([1, 3]);
  });
});

describe('peer routes', () => {
  it('orders fresh successes first, failures reset on success, prune ages out', () => {
    store.recordRouteSuccess(BOB, 'relay', { via: CAROL }, 100);
    store.recordRouteSuccess(BOB, 'direct', { signalAddr: 'mqtt://broker' }, 200);
    store.recordRouteFailure(BOB, 'mailbox', 250);
    expect(store.getRoutes(BOB).map((r) => r.path)).toEqual(['direct', 'relay', 'mailbox']);

    store.recordRouteFailure(BOB, 'direct', 300);
    store.recordRouteFailure(BOB, 'direct', 310);
    expect(store.getRoutes(BOB)[0]).toEqual({
      userId: BOB, path: 'direct', signalAddr: 'mqtt://broker', via: null, lastOk: 200, lastFail: 310, failCount: 2,
    });
    store.recordRouteSuccess(BOB, 'direct', undefined, 400); // details omitted: address kept
    expect(store.getRoutes(BOB)[0]).toMatchObject({ signalAddr: 'mqtt://broker', lastOk: 400, failCount: 0 });
    store.recordRouteSuccess(BOB, 'direct', { signalAddr: null }, 410);
    expect(store.getRoutes(BOB)[0]?.signalAddr).toBeNull();

    expect(store.pruneRoutes(150)).toBe(2); // relay (ok at 100) and mailbox (never ok)
    expect(store.getRoutes(BOB).map((r) => r.path)).toEqual(['direct']);
    expect(store.getRoutes(CAROL)).toEqual([]);
  });
});

describe('coordinators', () => {
  it('upserts and lists most recently seen first, optionally only those that store', () => {
    store.upsertCoordinator({ userId: BOB, canStore: true, lastSeen: 10 });
    store.upsertCoordinator({ userId: CAROL, canStore: false, lastSeen: 20 });
    store.upsertCoordinator({ userId: BOB, canStore: true, lastSeen: 30 });
    expect(store.listCoordinators()).toEqual([
      { userId: BOB, canStore: true, lastSeen: 30 },
      { userId: CAROL, canStore: false, lastSeen: 20 },
    ]);
    expect(store.listCoordinators({ canStoreOnly: true }).map((c) => c.userId)).toEqual([BOB]);
  });
});

describe('transaction', () => {
  it('commits together or rolls back together', () => {
    store.transaction(() => {
      store.insertMessage(msg('m1', 1));
      store.setSetting('k', 1);
    });
    expect(() =>
      store.transaction(() => {
        store.insertMessage(msg('m2', 2));
        store.setSetting('k', 2);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(store.getMessage('m2')).toBeUndefined();
    expect(store.getSetting('k')).toBe(1);
    expect(store.transaction(() => store.getMessage('m1')?.id)).toBe('m1');
  });

  it('close is idempotent', () => {
    store.close();
    expect(() => store.close()).not.toThrow();
  });
});
