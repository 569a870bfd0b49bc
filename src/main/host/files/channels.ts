/**
 * Where a transfer's data channel comes from. Headless: the in-process Mesh on @roamhq/wrtc
 * (polling for room, since wrtc never fires bufferedamountlow).
 */
import type { Mesh } from '../../../renderer/mesh';
import { wrapDataChannel, type DrainMode, type FileChannel } from '../../../renderer/mesh/file-channel';

export interface FileChannels {
  /** Null if the peer is not connected. */
  open(peer: string, label: string): FileChannel | null;
  onChannel(listener: (peer: string, channel: FileChannel) => void): void;
}

type ChannelMesh = Pick<Mesh, 'openChannel'> & { on(event: 'channel', listener: (userId: string, channel: RTCDataChannel) => void): unknown };

export function isChannelMesh(mesh: object): mesh is ChannelMesh {
  return typeof (mesh as Partial<ChannelMesh>).openChannel === 'function';
}

export function meshFileChannels(mesh: ChannelMesh, drain: DrainMode): FileChannels {
  return {
    open(peer, label) {
      const dc = mesh.openChannel(peer, label);
      return dc ? wrapDataChannel(dc, { drain }) : null;
    },
    onChannel(listener) {
      mesh.on('channel', (peer, dc) => listener(peer, wrapDataChannel(dc, { drain })));
    },
  };
}
