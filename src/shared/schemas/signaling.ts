/**
 * Bodies of signaling envelopes. MQTT topics user/{userId}/{type} (seed 003) use the camelCase
 * types; the WebSocket signal server (seed 004) uses the upper-case ones.
 */
import { z } from 'zod';
import { describeIssues } from '../envelope';
import { reject, type Result } from '../errors';
import { parseKeyed, zBase64, zDeviceId, zDisplayName, zIdString, zUserIdString, type TypedBody } from './common';

export const MAX_SDP_CHARS = 16 * 1024;
export const MAX_CANDIDATE_CHARS = 1024;
/** A sealed signaling body: nonce + box of the largest plaintext (an SDP) in base64. */
export const MAX_SEALED_CHARS = 32 * 1024;

const zSdp = z.string().min(1).max(MAX_SDP_CHARS);

/** RTCIceCandidateInit; null means end-of-candidates. */
export const zIceCandidate = z
  .strictObject({
    candidate: z.string().max(MAX_CANDIDATE_CHARS),
    sdpMid: z.string().max(64).nullable().optional(),
    sdpMLineIndex: z.number().int().min(0).max(1024).nullable().optional(),
    usernameFragment: z.string().max(256).nullable().optional(),
  })
  .nullable();

const zDescription = z.strictObject({ sdp: zSdp });
const zCandidateBody = z.strictObject({ candidate: zIceCandidate });

export const mqttSignalingSchemas = {
  offer: zDescription,
  answer: zDescription,
  iceCandidate: zCandidateBody,
  contactRequest: z.strictObject({ name: zDisplayName, deviceId: zDeviceId }),
  contactResponse: z.strictObject({ accept: z.boolean(), name: zDisplayName }),
  chatPresence: z.strictObject({ open: z.boolean() }),
  presence: z.strictObject({ status: z.enum(['online', 'offline']) }),
  heartbeat: z.strictObject({}),
  /** "new mail": the sender deposited messages in the recipient's inbox on the mailbox cluster */
  mailbox: z.strictObject({}),
} as const;

export const wsSignalingSchemas = {
  OFFER: zDescription,
  ANSWER: zDescription,
  ICE_CANDIDATE: zCandidateBody,
  /** Ask the receiving peer to relay data-channel frames to `target` (answered over the data channel). */
  RELAY_REQUEST: z.strictObject({ target: zUserIdString, requestId: zIdString }),
} as const;

export const signalingSchemas = { ...mqttSignalingSchemas, ...wsSignalingSchemas } as const;

export type MqttSignalingType = keyof typeof mqttSignalingSchemas;
export type WsSignalingType = keyof typeof wsSignalingSchemas;
export type SignalingType = keyof typeof signalingSchemas;
export type SignalingBodies = { [K in SignalingType]: z.infer<(typeof signalingSchemas)[K]> };
export type SignalingMessage = TypedBody<typeof signalingSchemas>;
export type IceCandidateInit = z.infer<typeof zIceCandidate>;

export const SIGNALING_TYPES = Object.keys(mqttSignalingSchemas) as MqttSignalingType[];
export const WS_SIGNALING_TYPES = Object.keys(wsSignalingSchemas) as WsSignalingType[];

export function isSignalingType(type: unknown): type is SignalingType {
  return typeof type === 'string' && Object.prototype.hasOwnProperty.call(signalingSchemas, type);
}

/** Validates the (decrypted) body of a signaling envelope of the given type. Never throws. */
export function parseSignalingBody(type: unknown, body: unknown): Result<SignalingMessage> {
  return parseKeyed(signalingSchemas, 'signaling', type, body);
}

/** Envelope body as it travels through the broker: the real body sealed to the recipient (box.ts). */
export const zSealedBody = z.strictObject({ sealed: zBase64(MAX_SEALED_CHARS).min(1) });
export type SealedBody = z.infer<typeof zSealedBody>;

export function parseSealedBody(body: unknown): Result<SealedBody> {
  const parsed = zSealedBody.safeParse(body);
  return parsed.success ? { ok: true, value: parsed.data } : reject('SCHEMA', `sealed body: ${describeIssues(parsed.error)}`);
}
