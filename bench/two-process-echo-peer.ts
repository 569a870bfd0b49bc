/**
 * The far end of the two-process raw echo (bench/mesh-baseline.ts measureTwoProcessEcho): a bare
 * mesh in its own process that echoes every frame, signaling over stdin/stdout as JSON lines.
 * No signing, no storage: only the process boundary and the idle gaps the product also has.
 */
import { createInterface } from 'node:readline';
import * as wrtcModule from '@roamhq/wrtc';
import { Mesh, type SignalKind } from '../src/renderer/mesh';

const wrtc = (wrtcModule as { default?: typeof wrtcModule }).default ?? wrtcModule;
const [selfId = 'echo-b', peerId = 'echo-a'] = process.argv.slice(2);

const mesh = new Mesh({
  selfId,
  RTCPeerConnection: wrtc.RTCPeerConnection as typeof RTCPeerConnection,
  signaling: { send: (_to, kind, payload) => process.stdout.write(`${JSON.stringify({ kind, payload })}\n`) },
});
mesh.on('frame', (from, frame) => mesh.send(from, frame));
createInterface({ input: process.stdin }).on('line', (line) => {
  const { kind, payload } = JSON.parse(line) as { kind: SignalKind; payload: unknown };
  void mesh.handleSignal(peerId, kind, payload);
});
process.stdin.on('end', () => {
  mesh.close();
  process.exit(0);
});
