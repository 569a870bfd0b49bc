/** Bodies of envelopes sent over WebRTC data channels (seed 004 + DESIGN sections 4-7). */
import { z } from 'zod';
import type { Result } from '../errors';
import {
  parseKeyed, zBase64, zIdString, zSignalAddr, zTimestampMs, zUserIdString, type TypedBody,
} from './common';

export const MAX_CHAT_TEXT_CHARS = 16_000;
/** base64 characters per FILE_CHUNK (36 KiB of file data). */
export const MAX_FILE_CHUNK_BASE64_CHARS = 48 * 1024;
export const MAX_FILE_CHUNK_BYTES = (MAX_FILE_CHUNK_BASE64_CHARS / 4) * 3;
export const MAX_FILE_BYTES = 2 * 1024 ** 3;
/** A stored (sealed) message: a whole signed envelope boxed to the recipient. */
export const MAX_STORED_SEALED_CHARS = 48 * 1024;
/** An encoded inner envelope carried by RELAY; the outer envelope limit still applies. */
export const MAX_RELAYED_FRAME_CHARS = 56 * 1024;
export const MAX_NETWORK_STATE_PEERS = 256;
export const MAX_ACK_BATCH = 512;

const zSha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 hex digest');

export const dataChannelSchemas = {
  CHAT_MESSAGE: z.strictObject({
    text: z.string().min(1).max(MAX_CHAT_TEXT_CHARS),
    /** Authoring time (ms); retransmissions keep it while the envelope ts changes. */
    sentAt: zTimestampMs.optional(),
    replyTo: zIdString.optional(),
  }),
  /** One id (seed 004's form) or a batch: a receiver ACKs everything it stored in one turn at once. */
  ACK: z.strictObject({ msgId: zIdString.optional(), msgIds: z.array(zIdString).min(1).max(MAX_ACK_BATCH).optional() })
    .refine((b) => (b.msgId === undefined) !== (b.msgIds === undefined), 'exactly one of msgId or msgIds'),
  PEER_QUERY: z.strictObject({ lookingFor: zUserIdString, requestId: zIdString }),
  PEER_FOUND: z.strictObject({
    userId: zUserIdString,
    /** Where the found peer can be signaled; null if the responder only knows it as a direct neighbour. */
    signalAddr: zSignalAddr.nullable(),
    canRelay: z.boolean(),
    requestId: zIdString,
  }),
  NETWORK_STATE: z.strictObject({
    peers: z.array(zUserIdString).max(MAX_NETWORK_STATE_PEERS),
    canRelay: z.boolean(),
    /** Users this peer holds stored messages for (acts as their coordinator). */
    storesFor: z.array(zUserIdString).max(MAX_NETWORK_STATE_PEERS).optional(),
  }),
  FILE_OFFER: z.strictObject({
    fileId: zIdString,
    name: z.string().min(1).max(255),
    size: z.number().int().min(0).max(MAX_FILE_BYTES),
    mime: z.string().max(128).optional(),
    sha256: zSha256Hex,
    chunkSize: z.number().int().min(1).max(MAX_FILE_CHUNK_BYTES),
  }),
  FILE_ACCEPT: z.strictObject({ fileId: zIdString, accept: z.boolean() }),
  FILE_CHUNK: z.strictObject({
    fileId: zIdString,
    seq: z.number().int().min(0).max(MAX_FILE_BYTES),
    data: zBase64(MAX_FILE_CHUNK_BASE64_CHARS),
  }),
  FILE_DONE: z.strictObject({ fileId: zIdString, chunks: z.number().int().min(0).max(MAX_FILE_BYTES), sha256: zSha256Hex }),
  /**
   * Store-and-forward via a coordinator peer: deposit (sender → coordinator) and forward
   * (coordinator → recipient) use the same frame. `sealed` = sealTo(recipient, encoded signed envelope).
   */
  STORE_MESSAGE: z.strictObject({
    sender: zUserIdString,
    recipient: zUserIdString,
    msgId: zIdString,
    sealed: zBase64(MAX_STORED_SEALED_CHARS).min(1),
    expiresAt: zTimestampMs,
  }),
  RELAY_REQUEST: z.strictObject({ target: zUserIdString, requestId: zIdString }),
  RELAY_RESPONSE: z.strictObject({ target: zUserIdString, requestId: zIdString, accept: z.boolean() }),
  /** An encoded envelope signed by its author for `target`; the relay forwards it unchanged. */
  RELAY: z.strictObject({ target: zUserIdString, frame: z.string().min(1).max(MAX_RELAYED_FRAME_CHARS) }),
} as const;

export type DataChannelType = keyof typeof dataChannelSchemas;
export type DataChannelBodies = { [K in DataChannelType]: z.infer<(typeof dataChannelSchemas)[K]> };
export type DataChannelMessage = TypedBody<typeof dataChannelSchemas>;

export const DATA_CHANNEL_TYPES = Object.keys(dataChannelSchemas) as DataChannelType[];

export function isDataChannelType(type: unknown): type is DataChannelType {
  return typeof type === 'string' && Object.prototype.hasOwnProperty.call(dataChannelSchemas, type);
}

/** Validates the body of a data-channel envelope of the given type. Never throws. */
export function parseDataChannelBody(type: unknown, body: unknown): Result<DataChannelMessage> {
  return parseKeyed(dataChannelSchemas, 'datachannel', type, body);
}
