/**
 * The far end of the two-process raw bulk rate (bench/mesh-baseline.ts measureTwoProcessBulk): a
 * bare mesh in its own process that takes extra data channels and counts the bytes they bring,
 * printing `{"got":N}` on stdout when N bytes have arrived (N is argv[3]). Signaling over
 * stdin/stdout as JSON lines, as in two-process-echo-peer.ts. No hashing, no disk: the raw pipe.
 */
import { createInterface } from 'node:readline';
import * as wrtcModule from '@roamhq/wrtc';
import { Mesh, type SignalKind } from '../src/renderer/mesh';
import { wrapDataChannel } from '../src/renderer/mesh/file-channel';

const wrtc = (wrtcModule as { default?: typeof wrtcModule }).default ?? wrtcModule;
const [selfId = 'sink-b', peerId = 'sink-a', want = '0'] = process.argv.slice(2);
const total = Number(want);

const mesh = new Mesh({
  selfId,
  RTCPeerConnection: wrtc.RTCPeerConnection as typeof RTCPeerConnection,
  signaling: { send: (_to, kind, payload) => process.stdout.write(`${JSON.stringify({ kind, payload })}\n`) },
});
let got = 0;
mesh.on('channel', (_from, dc) => {
  wrapDataChannel(dc, { drain: 'poll' }).onMessage((d) => {
    got += typeof d === 'string' ? d.length : d.byteLength;
    if (got >= total) process.stdout.write(`${JSON.stringify({ got })}\n`);
  });
});
createInterface({ input: process.stdin }).on('line', (line) => {
  const { kind, payload } = JSON.parse(line) as { kind: SignalKind; payload: unknown };
  void mesh.handleSignal(peerId, kind, payload);
});
process.stdin.on('end', () => {
  mesh.close();
  process.exit(0);
});
