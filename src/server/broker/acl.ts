import { isUserId } from '../../shared/identity';
import { INBOX_ROOT, isMqttSignalingType, parseTopic, PRESENCE_ROOT } from '../../main/signaling/topics';

/*
 * The same policy on Mosquitto (deployments), as an acl_file with usernames = userIds:
 *   pattern read  user/%u/#
 *   topic   write user/+/offer        (… and answer, iceCandidate, contactRequest, contactResponse,
 *                                      chatPresence, presence, heartbeat)
 *   pattern readwrite presence/%u
 *   topic   read  presence/+          (Mosquitto cannot insist on exact ids here)
 * plus `set_tcp_nodelay true`, `persistence true`, `message_size_limit 65536`, and an auth plugin
 * that checks the signed password (mqtt-login.ts) — without one, usernames are unverified.
 */
export const MAX_PUBLISH_BYTES = 64 * 1024;

export type AclVerdict = { ok: true } | { ok: false; reason: string };

const allow: AclVerdict = { ok: true };

/** A client may read only its own inbox, plus the presence topic of any one exact userId. */
export function checkSubscribe(userId: string, filter: string): AclVerdict {
  const parts = filter.split('/');
  if (parts[0] === INBOX_ROOT && parts.length === 3 && parts[1] === userId) {
    const leaf = parts[2] ?? '';
    if (leaf === '#' || leaf === '+' || isMqttSignalingType(leaf)) return allow;
    return { ok: false, reason: `unknown inbox subtopic ${leaf}` };
  }
  if (parts[0] === INBOX_ROOT && parts.length === 2 && parts[1] === userId) return allow; // "user/{self}" itself
  if (parts[0] === PRESENCE_ROOT && parts.length === 2 && isUserId(parts[1])) return allow;
  return { ok: false, reason: `subscription to ${truncate(filter)} is not allowed for this user` };
}

/** A client may write to any user's signaling inbox (not retained) and to its own presence topic. */
export function checkPublish(userId: string, topic: string, payloadBytes: number, retain: boolean): AclVerdict {
  if (payloadBytes > MAX_PUBLISH_BYTES) return { ok: false, reason: `payload ${payloadBytes} B exceeds ${MAX_PUBLISH_BYTES} B` };
  const parsed = parseTopic(topic);
  if (parsed.kind === 'inbox') {
    if (!isMqttSignalingType(parsed.type)) return { ok: false, reason: `unknown signaling type ${truncate(parsed.type)}` };
    if (retain) return { ok: false, reason: 'retained messages are not allowed in inboxes' };
    return allow;
  }
  if (parsed.kind === 'presence') {
    if (parsed.userId !== userId) return { ok: false, reason: 'may only publish to its own presence topic' };
    return allow;
  }
  return { ok: false, reason: `publishing to ${truncate(topic)} is not allowed` };
}

function truncate(text: string): string {
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}
