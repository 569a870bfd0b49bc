/**
 * Fresh TURN credentials reach the connections made after they arrive: the in-process mesh
 * (headless peer) uses the new list for its next RTCPeerConnection, and in web mode the host
 * sends the attached page an `ice` mesh command with the merged list.
 */
import wrtc from '@roamhq/wrtc';
import { describe, expect, it } from 'vitest';
import { RemoteMesh } from '../../../src/main/host/remote-mesh';
import { Mesh } from '../../../src/renderer/mesh';
import type { MeshCommand } from '../../../src/shared/api';

const Base = wrtc.RTCPeerConnection as unknown as typeof RTCPeerConnection;
const PEER = 'b'.repeat(64);

describe('ICE servers set after start', () => {
  it('the mesh gives the next RTCPeerConnection the new list', () => {
    const configs: RTCConfiguration[] = [];
    const kept: RTCPeerConnection[] = [];
    class Recording extends Base {
      constructor(config: RTCConfiguration = {}) {
        super(config);
        configs.push(config);
        kept.push(this);
      }
    }
    const mesh = new Mesh({ selfId: 'a'.repeat(64), RTCPeerConnection: Recording, iceServers: [{ urls: 'stun:198.51.100.1:3478' }], signaling: { send: () => undefined } });
    try {
      const fresh = [{ urls: 'stun:198.51.100.1:3478' }, { urls: ['turn:198.51.100.7:3478'], username: '99:u', credential: 'c' }];
      mesh.setIceServers(fresh);
      mesh.connect(PEER);
      expect(configs.at(-1)?.iceServers).toEqual(fresh);
    } finally {
      mesh.close();
      for (const pc of kept) pc.close();
    }
  });

  it('web mode: the attached page is sent the list; with no page attached nothing is sent', () => {
    const sent: MeshCommand[] = [];
    const remote = new RemoteMesh((cmd) => sent.push(cmd));
    remote.setIceServers([{ urls: 'stun:198.51.100.1:3478' }]);
    expect(sent).toEqual([]);
    const { session } = remote.attach();
    remote.setIceServers([{ urls: ['turn:198.51.100.7:3478'], username: '99:u', credential: 'c' }]);
    expect(sent.at(-1)).toEqual({ session, op: 'ice', iceConfig: [{ urls: ['turn:198.51.100.7:3478'], username: '99:u', credential: 'c' }] });
  });
});
