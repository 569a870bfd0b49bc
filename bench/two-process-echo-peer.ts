/**
 * The far end of the two-process raw echo (bench/mesh-baseline.ts measureTwoProcessEcho): a bare
 * mesh in its own process that echoes every frame, signaling over stdin/stdout as JSON lines.
 * No signing, no storage: only the process boundary and the idle gaps the product also has.
 */
import { stdioMesh } from './lib/stdio-mesh';

const [selfId = 'echo-b', peerId = 'echo-a'] = process.argv.slice(2);
const mesh = stdioMesh(selfId, peerId);
mesh.on('frame', (from, frame) => mesh.send(from, frame));
