/** The mesh for processes without a browser: the same Mesh code on @roamhq/wrtc. */
import wrtc from '@roamhq/wrtc';
import { Mesh } from '../../renderer/mesh';
import type { MeshFactory } from './transport';

export const nodeMeshFactory: MeshFactory = (signaling, selfId, iceServers) =>
  new Mesh({ selfId, signaling, iceServers, RTCPeerConnection: wrtc.RTCPeerConnection as unknown as typeof RTCPeerConnection });
