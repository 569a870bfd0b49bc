/** A step answered by the host (route cache, PEER_QUERY, coordinators, registry): one API call. */
import { STEP_BUDGET_MS, type HostStepName } from '../../../../shared/discovery';
import type { DiscoveryStep, StepAnswer, StepContext, StepNote } from '../types';

export function hostStep(name: HostStepName): DiscoveryStep {
  return {
    name,
    budgetMs: STEP_BUDGET_MS[name],
    async find(userId: string, ctx: StepContext, note?: StepNote): Promise<StepAnswer> {
      const got = await ctx.host.lookup(userId, name, ctx.timeoutMs);
      if (note) {
        if (got.reason !== undefined) note.reason = got.reason;
        if (got.asked !== undefined) note.asked = got.asked;
        if (got.answers !== undefined) note.answers = got.answers;
      }
      return got.route ? { route: got.route } : null;
    },
    findNow(userId: string, ctx: StepContext): StepAnswer | undefined {
      const route = ctx.host.lookupNow?.(userId, name);
      if (route === undefined) return undefined;
      return route ? { route } : null;
    },
  };
}
