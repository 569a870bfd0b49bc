/**
 * A bare mesh for the far end of a two-process baseline: signaling as JSON lines on stdin/stdout
 * with the one peer named on the command line; closes and exits when stdin ends.
 */
import { createInterface } from 'node:readline';
import * as wrtcModule from '@roamhq/wrtc';
import { Mesh, type SignalKind } from '../../src/renderer/mesh';

const wrtc = (wrtcModule as { default?: typeof wrtcModule }).default ?? wrtcModule;

export function stdioMesh(selfId: string, peerId: string): Mesh {
  const mesh = new Mesh({
    selfId,
    RTCPeerConnection: wrtc.RTCPeerConnection as typeof RTCPeerConnection,
    signaling: { send: (_to, kind, payload) => process.stdout.write(`${JSON.stringify({ kind, payload })}\n`) },
  });
  createInterface({ input: process.stdin }).on('line', (line) => {
    const { kind, payload } = JSON.parse(line) as { kind: SignalKind; payload: unknown };
    void mesh.handleSignal(peerId, kind, payload);
  });
  process.stdin.on('end', () => {
    mesh.close();
    process.exit(0);
  });
  return mesh;
}
