/** Step 5: the registry's GET /network/{id}/peer/{userId} (last resort before storing). */
import { hostStep } from './host-step';

export const registryStep = hostStep('registry');
