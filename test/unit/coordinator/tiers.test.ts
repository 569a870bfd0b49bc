// The two store-and-forward tiers in DESIGN order: what the coordinator tier does not hold goes to
// the mailbox, in the outbox's order; nothing is offered twice; a missing tier is skipped.
import { describe, expect, it } from 'vitest';
import { tieredStoreAndForward } from '../../../src/main/host/coordinator';
import type { StoreAndForward } from '../../../src/main/host/delivery';

type Items = Parameters<StoreAndForward['deposit']>[1];
const items = (ids: string[]): Items => ids.map((msgId) => ({ msgId, body: { text: msgId, sentAt: 1 } }));

function tier(accept: (id: string) => boolean, seen: string[][]): StoreAndForward {
  return {
    deposit: (_to, batch) => {
      seen.push(batch.map((i) => i.msgId));
      return Promise.resolve(batch.map((i) => i.msgId).filter(accept));
    },
  };
}

describe('tiered store-and-forward', () => {
  it('offers the mailbox only what the coordinators did not hold, in order, and reports all held in outbox order', async () => {
    const coordSeen: string[][] = [];
    const mailSeen: string[][] = [];
    const t = tieredStoreAndForward([tier((id) => id === 'b' || id === 'd', coordSeen), tier(() => true, mailSeen)]);
    expect(await t.deposit('carol', items(['a', 'b', 'c', 'd']))).toEqual(['a', 'b', 'c', 'd']);
    expect(coordSeen).toEqual([['a', 'b', 'c', 'd']]);
    expect(mailSeen).toEqual([['a', 'c']]);
  });

  it('stops asking once everything is held, skips a missing tier, and leaves what nobody took', async () => {
    const mailSeen: string[][] = [];
    const all = tieredStoreAndForward([tier(() => true, []), tier(() => true, mailSeen)]);
    expect(await all.deposit('carol', items(['a', 'b']))).toEqual(['a', 'b']);
    expect(mailSeen).toEqual([]);
    const none = tieredStoreAndForward([tier(() => false, []), null]);
    expect(await none.deposit('carol', items(['a', 'b']))).toEqual([]);
  });
});
