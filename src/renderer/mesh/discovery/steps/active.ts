/** Step 1: a live path we already have: an open channel, or the peer online on a broker we share. */
import { hostStep } from './host-step';

export const activeStep = hostStep('active');
