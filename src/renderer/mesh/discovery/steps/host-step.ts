/** A step answered by the host (route cache, PEER_QUERY, coordinators, registry): one API call. */
import { STEP_BUDGET_MS, type HostStepName } from '../../../../shared/discovery';
import type { DiscoveryStep, StepAnswer, StepContext } from '../types';

export function hostStep(name: HostStepName): DiscoveryStep {
  return {
    name,
    budgetMs: STEP_BUDGET_MS[name],
    async find(userId: string, ctx: StepContext): Promise<StepAnswer> {
      const route = await ctx.host.lookup(userId, name, ctx.timeoutMs);
      return route ? { route } : null;
    },
  };
}
