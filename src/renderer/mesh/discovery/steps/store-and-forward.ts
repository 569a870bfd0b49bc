/**
 * Step 6: nobody knows a path. Messages stay in the outbox (and, once the offline-delivery tiers
 * land, go to a coordinator or the mailbox); the peer is tried again when it shows up.
 */
import { STEP_BUDGET_MS } from '../../../../shared/discovery';
import type { DiscoveryStep } from '../types';

export const storeAndForwardStep: DiscoveryStep = {
  name: 'store',
  budgetMs: STEP_BUDGET_MS.store,
  find: () => Promise.resolve({ store: true }),
  findNow: () => ({ store: true }),
};
