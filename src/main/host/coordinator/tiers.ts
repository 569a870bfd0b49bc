/**
 * Store-and-forward tiers in the order DESIGN section 7 gives: coordinator peers first, then the
 * mailbox. What one tier does not take is offered to the next; delivery sees one tier.
 */
import type { StoreAndForward } from '../delivery';

type Items = Parameters<StoreAndForward['deposit']>[1];

export function tieredStoreAndForward(tiers: readonly (StoreAndForward | null)[]): StoreAndForward {
  const used = tiers.filter((t): t is StoreAndForward => t !== null);
  return {
    async deposit(to: string, items: Items): Promise<string[]> {
      const held = new Set<string>();
      let left = items;
      for (const tier of used) {
        if (left.length === 0) break;
        for (const id of await tier.deposit(to, left)) held.add(id);
        left = left.filter((item) => !held.has(item.msgId));
      }
      return items.filter((item) => held.has(item.msgId)).map((item) => item.msgId);
    },
  };
}
