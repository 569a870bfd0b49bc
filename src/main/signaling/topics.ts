import { isUserId } from '../../shared/identity';
import { SIGNALING_TYPES, type MqttSignalingType } from '../../shared/schemas/signaling';

/**
 * Topic scheme (seed 003 + DESIGN section 3):
 *   user/{recipientUserId}/{signalingType}  — per-recipient inbox; only the recipient may subscribe.
 *   presence/{userId}                       — the owner's signed, retained online/offline status and
 *                                             its last-will; only the owner may publish, anyone
 *                                             logged in may subscribe to one exact id.
 * The inbox cannot carry a last-will: a will has one topic, but contacts each have their own inbox.
 */
export const INBOX_ROOT = 'user';
export const PRESENCE_ROOT = 'presence';

const SIGNALING_TYPE_SET: ReadonlySet<string> = new Set(SIGNALING_TYPES);

/** Only the MQTT (seed 003) types; the upper-case WebSocket types have no topic. */
export function isMqttSignalingType(value: string): value is MqttSignalingType {
  return SIGNALING_TYPE_SET.has(value);
}

export function inboxTopic(userId: string, type: MqttSignalingType): string {
  return `${INBOX_ROOT}/${userId}/${type}`;
}

export function inboxFilter(userId: string): string {
  return `${INBOX_ROOT}/${userId}/#`;
}

export function presenceTopic(userId: string): string {
  return `${PRESENCE_ROOT}/${userId}`;
}

export type ParsedTopic =
  | { kind: 'inbox'; userId: string; type: string }
  | { kind: 'presence'; userId: string }
  | { kind: 'other' };

/** Splits a concrete (wildcard-free) topic. `type` is not validated: callers decide how to reject it. */
export function parseTopic(topic: string): ParsedTopic {
  const parts = topic.split('/');
  if (parts.length === 3 && parts[0] === INBOX_ROOT && isUserId(parts[1]) && parts[2] !== undefined) {
    return { kind: 'inbox', userId: parts[1], type: parts[2] };
  }
  if (parts.length === 2 && parts[0] === PRESENCE_ROOT && isUserId(parts[1])) {
    return { kind: 'presence', userId: parts[1] };
  }
  return { kind: 'other' };
}
