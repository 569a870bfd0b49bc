/**
 * The far end of the two-process raw bulk rate (bench/mesh-baseline.ts measureTwoProcessBulk): a
 * bare mesh in its own process that takes extra data channels and counts the bytes they bring,
 * printing `{"got":N}` on stdout when N bytes have arrived (N is argv[3]). Signaling over
 * stdin/stdout as JSON lines (lib/stdio-mesh.ts). No hashing, no disk: the raw pipe.
 */
import { wrapDataChannel } from '../src/renderer/mesh/file-channel';
import { stdioMesh } from './lib/stdio-mesh';

const [selfId = 'sink-b', peerId = 'sink-a', want = '0'] = process.argv.slice(2);
const total = Number(want);
const mesh = stdioMesh(selfId, peerId);
let got = 0;
mesh.on('channel', (_from, dc) => {
  wrapDataChannel(dc, { drain: 'poll' }).onMessage((d) => {
    got += typeof d === 'string' ? d.length : d.byteLength;
    if (got >= total) process.stdout.write(`${JSON.stringify({ got })}\n`);
  });
});
