/**
 * On the wire an offer/answer carries only the SDP text (its type is the topic); the mesh speaks
 * RTCSessionDescriptionInit. Candidates pass through; the receiving mesh validates their shape.
 */
import type { SignalingBodies } from '../../shared/schemas/signaling';
import type { SignalKind } from './transport';

export function toWireSignal<K extends SignalKind>(kind: K, payload: unknown): SignalingBodies[K] {
  if (kind !== 'iceCandidate') {
    const desc = (payload as { sdp?: { sdp?: unknown } }).sdp;
    return { sdp: typeof desc?.sdp === 'string' ? desc.sdp : '' } as SignalingBodies[K];
  }
  return payload as SignalingBodies[K];
}

export function fromWireSignal(kind: SignalKind, body: unknown): unknown {
  if (kind === 'iceCandidate') return body;
  return { sdp: { type: kind, sdp: (body as { sdp: string }).sdp } };
}
