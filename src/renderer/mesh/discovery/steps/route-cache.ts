/** Step 2: the peer_routes cache (a route that worked recently and has not failed since). */
import { hostStep } from './host-step';

export const routeCacheStep = hostStep('cache');
