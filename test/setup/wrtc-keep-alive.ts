/**
 * Every RTCPeerConnection made in a test worker stays referenced until the worker is stopped.
 *
 * @roamhq/wrtc can fault natively when the garbage collector finalizes a closed
 * RTCPeerConnection (WonderInventions/node-webrtc#35); in a vitest worker that shows up as
 * "Worker exited unexpectedly" after the file's tests have passed, and fails the run. The product
 * keeps closed connections referenced for a while (RetiredConnections in src/main/host/node-mesh.ts);
 * a test worker lives for one file, so here nothing is ever finalized. The connections are real:
 * only their collection is prevented. Loaded before each test file (vitest setupFiles), so code
 * that reads `wrtc.RTCPeerConnection` at import time gets this class.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const wrtc = require('@roamhq/wrtc') as { RTCPeerConnection: new (config?: RTCConfiguration) => RTCPeerConnection };

const kept: RTCPeerConnection[] = [];
const Base = wrtc.RTCPeerConnection;
if (!(Base as { keptAlive?: boolean }).keptAlive) {
  class KeptPeerConnection extends Base {
    static readonly keptAlive = true;
    constructor(config?: RTCConfiguration) {
      super(config);
      kept.push(this);
    }
  }
  wrtc.RTCPeerConnection = KeptPeerConnection;
}
