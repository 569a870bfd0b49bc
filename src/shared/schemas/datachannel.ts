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
/** Largest size an offer may name (64 GiB); each receiver's own cap (a setting) is lower. */
export const MAX_FILE_BYTES = 64 * 1024 ** 3;
/** Chunk sizes of files sent on their own channel (binary, see src/main/host/files/wire.ts). */
export const MIN_FILE_CHANNEL_CHUNK_BYTES = 16 * 1024;
export const MAX_FILE_CHANNEL_CHUNK_BYTES = 64 * 1024;
export const MAX_FILE_RANGES = 64;
/** An offer's thumbnail: at most 16 KiB of PNG/JPEG/GIF/WebP/BMP, base64 in the signed offer. */
export const MAX_FILE_THUMB_BYTES = 16 * 1024;
export const MAX_FILE_THUMB_BASE64_CHARS = 4 * Math.ceil(MAX_FILE_THUMB_BYTES / 3);
const zReason = z.string().min(1).max(200);
/** A stored (sealed) message: a whole signed envelope boxed to the recipient. */
export const MAX_STORED_SEALED_CHARS = 48 * 1024;
/** An encoded inner envelope carried by RELAY; the outer envelope limit still applies. */
export const MAX_RELAYED_FRAME_CHARS = 56 * 1024;
export const MAX_NETWORK_STATE_PEERS = 256;
export const MAX_NETWORK_STATE_ADDRS = 8;
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
  /**
   * The answer to a contact's PEER_QUERY when the responder can't point to `userId` (not a direct
   * peer, not connected, not discoverable): sent at once, so the asker stops waiting for it.
   */
  PEER_NOT_FOUND: z.strictObject({ userId: zUserIdString, requestId: zIdString }),
  NETWORK_STATE: z.strictObject({
    peers: z.array(zUserIdString).max(MAX_NETWORK_STATE_PEERS),
    canRelay: z.boolean(),
    /** Users this peer holds stored messages for (acts as their coordinator). */
    storesFor: z.array(zUserIdString).max(MAX_NETWORK_STATE_PEERS).optional(),
    /** Where the sender can be signaled (its signal servers' addresses, its broker). */
    signalAddrs: z.array(zSignalAddr).max(MAX_NETWORK_STATE_ADDRS).optional(),
    /** False: do not tell others where to find me in PEER_FOUND (the "let contacts find me" setting). */
    discoverable: z.boolean().optional(),
  }),
  /**
   * Signed by the sender; binds the whole content: `sha256` of the file and `chunksSha256`, the
   * SHA-256 of the list of per-chunk digests, so each chunk is verified on arrival and a resume
   * restarts from the last verified chunk.
   */
  FILE_OFFER: z.strictObject({
    fileId: zIdString,
    name: z.string().min(1).max(255),
    size: z.number().int().min(0).max(MAX_FILE_BYTES),
    mime: z.string().max(128).optional(),
    sha256: zSha256Hex,
    chunkSize: z.number().int().min(MIN_FILE_CHANNEL_CHUNK_BYTES).max(MAX_FILE_CHANNEL_CHUNK_BYTES),
    chunksSha256: zSha256Hex,
    /** A small preview of an image, shown before the file is accepted; its format is checked by its bytes. */
    thumb: zBase64(MAX_FILE_THUMB_BASE64_CHARS).min(4).optional(),
  }),
  /**
   * The receiver's answer, and after a reconnect or restart its resume request: `ranges` are the
   * chunk ranges [start, end) it still needs. A decline may say why.
   */
  FILE_ACCEPT: z.strictObject({
    fileId: zIdString,
    accept: z.boolean(),
    ranges: z.array(z.tuple([z.number().int().min(0), z.number().int().min(0)])).max(MAX_FILE_RANGES).optional(),
    reason: zReason.optional(),
  }),
  /** Either side stops a transfer for good. */
  FILE_CANCEL: z.strictObject({ fileId: zIdString, reason: zReason }),
  /** JSON form of seed 004's FILE_CHUNK; file data actually travels binary on the transfer's own channel. */
  FILE_CHUNK: z.strictObject({
    fileId: zIdString,
    seq: z.number().int().min(0).max(MAX_FILE_BYTES),
    data: zBase64(MAX_FILE_CHUNK_BASE64_CHARS),
  }),
  /** Sender → receiver: every chunk was handed to the channel. Receiver → sender: the verified receipt. */
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
  /** Coordinator → depositor: which deposits for `recipient` it now holds, and which it refused (a RejectCode). */
  STORE_RECEIPT: z.strictObject({
    recipient: zUserIdString,
    held: z.array(zIdString).max(MAX_ACK_BATCH),
    refused: z.array(z.strictObject({ msgId: zIdString, code: z.string().min(1).max(32) })).max(MAX_ACK_BATCH),
  }),
  /** Recipient → coordinator: these forwarded copies are stored on my device (or refused for good); drop them. */
  STORE_ACK: z.strictObject({ msgIds: z.array(zIdString).min(1).max(MAX_ACK_BATCH) }),
  /**
   * Peer relay (DESIGN section 6). Requester → relay: "carry my frames to `target`". Relay →
   * target: the same question on behalf of `source`, which the target answers for itself.
   */
  RELAY_REQUEST: z.strictObject({ target: zUserIdString, requestId: zIdString, source: zUserIdString.optional() }),
  /**
   * The answer to a RELAY_REQUEST (same requestId). From the relay, `accept: false` with a
   * reason also ends a pair that was open (`target` = the end that went away or was refused);
   * `maxBytesPerSec` is the pair's bandwidth cap, so the sender paces itself below it.
   */
  RELAY_RESPONSE: z.strictObject({
    target: zUserIdString,
    requestId: zIdString,
    accept: z.boolean(),
    source: zUserIdString.optional(),
    reason: zReason.optional(),
    maxBytesPerSec: z.number().int().min(1).max(1 << 30).optional(),
  }),
  /**
   * `frame` = sealTo(target, one or more encoded envelopes signed by their author for `target`,
   * newline-separated): the relay forwards bytes it can neither read nor forge. Requester → relay
   * names `target`; relay → target adds `source`, the author.
   */
  RELAY: z.strictObject({ target: zUserIdString, frame: zBase64(MAX_RELAYED_FRAME_CHARS).min(1), source: zUserIdString.optional() }),
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
