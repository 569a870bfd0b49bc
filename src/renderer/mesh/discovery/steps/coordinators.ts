/** Step 4: ask the coordinators we know (cached from NETWORK_STATE and the registry). */
import { hostStep } from './host-step';

export const coordinatorsStep = hostStep('coordinators');
