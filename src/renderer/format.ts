/** Human-readable labels for protocol states. */
import type { ConnectionState, DeliveryPath, MessageStatus, PeerInfo, Presence, SignalingState } from '../shared/api';

export function statusLabel(status: MessageStatus): string {
  switch (status) {
    case 'pending': return 'sending…';
    case 'sent': return 'sent ✓';
    case 'stored': return 'stored ✓';
    case 'delivered': return 'delivered ✓✓';
    case 'read': return 'read ✓✓';
    case 'failed': return 'not sent ✕';
  }
}

export function statusDescription(status: MessageStatus): string {
  switch (status) {
    case 'pending': return 'Sending: waiting for a path to your contact';
    case 'sent': return 'Sent: left this device';
    case 'stored': return 'Stored: held by a coordinator or the mailbox until your contact\'s device picks it up';
    case 'delivered': return 'Delivered: your contact\'s device confirmed it';
    case 'read': return 'Read by your contact';
    case 'failed': return 'Not sent: it will be retried when a path exists';
  }
}

const CONNECTION_LABELS: Record<ConnectionState, string> = {
  DISCONNECTED: 'Not connected',
  DISCOVERING: 'Looking for peer…',
  SIGNALING: 'Negotiating…',
  CONNECTING: 'Connecting…',
  CONNECTED: 'Connected',
  RECONNECTING: 'Reconnecting',
  FAILED: 'Failed',
  STORE_AND_FORWARD: 'Unreachable: messages wait until a path opens',
};

const PATH_LABELS: Record<DeliveryPath, string> = {
  direct: 'direct', relay: 'via relay', coordinator: 'via coordinator', mailbox: 'via mailbox', none: '',
};

export function peerStateLabel(peer: Pick<PeerInfo, 'state' | 'attempt' | 'path'>): string {
  if (peer.state === 'RECONNECTING') return `Reconnecting (attempt ${Math.max(1, peer.attempt)})`;
  const path = PATH_LABELS[peer.path];
  return peer.state === 'CONNECTED' && path ? `${CONNECTION_LABELS.CONNECTED} (${path})` : CONNECTION_LABELS[peer.state];
}

export function signalingLabel(state: SignalingState, attempt: number): string {
  switch (state) {
    case 'connecting': return 'Connecting to signaling server…';
    case 'connected': return 'Signaling server connected';
    case 'reconnecting': return `Signaling server unreachable, reconnecting (attempt ${Math.max(1, attempt)})`;
    case 'offline': return 'Signaling server offline: check the broker URL in Settings';
  }
}

export function presenceLabel(presence: Presence): string {
  return presence === 'chat-open' ? 'chat open' : presence;
}

export function shortId(userId: string): string {
  return userId.length > 16 ? `${userId.slice(0, 8)}…${userId.slice(-8)}` : userId;
}

export function formatTime(ts: number, now: number = Date.now()): string {
  const d = new Date(ts);
  const sameDay = new Date(now).toDateString() === d.toDateString();
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return sameDay ? time : `${d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${time}`;
}

/** States in which no attempt is running and the user may ask for one now. */
export function needsRetry(state: ConnectionState): boolean {
  return state === 'FAILED' || state === 'STORE_AND_FORWARD';
}
