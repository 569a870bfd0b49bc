/** Step 3: PEER_QUERY to the peers we have channels to; the first PEER_FOUND with an address wins. */
import { hostStep } from './host-step';

export const peerQueryStep = hostStep('peers');
