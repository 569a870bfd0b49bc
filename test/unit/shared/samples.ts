/** One valid body per message type, shared by the schema and fuzz tests. */
import { randomId } from '../../../src/shared/ids';
import type { DataChannelBodies } from '../../../src/shared/schemas/datachannel';
import type { SignalingBodies } from '../../../src/shared/schemas/signaling';

export const USER_A = 'a'.repeat(64);
export const USER_B = '0123456789abcdef'.repeat(4);

export const validSignaling: SignalingBodies = {
  offer: { sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n' },
  answer: { sdp: 'v=0\r\n' },
  iceCandidate: { candidate: { candidate: 'candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host', sdpMid: '0', sdpMLineIndex: 0 } },
  contactRequest: { name: 'Alice', deviceId: randomId() },
  contactResponse: { accept: true, name: 'Bob' },
  chatPresence: { open: false },
  presence: { status: 'online' },
  heartbeat: {},
  mailbox: {},
  OFFER: { sdp: 'v=0\r\n' },
  ANSWER: { sdp: 'v=0\r\n' },
  ICE_CANDIDATE: { candidate: null },
  RELAY_REQUEST: { target: USER_B, requestId: randomId() },
};

export const validDataChannel: DataChannelBodies = {
  CHAT_MESSAGE: { text: 'Hello Carol!', sentAt: 1_700_000_000_000, replyTo: randomId() },
  ACK: { msgId: randomId() },
  PEER_QUERY: { lookingFor: USER_B, requestId: randomId() },
  PEER_FOUND: { userId: USER_B, signalAddr: 'wss://signal.example/dev_456', canRelay: true, requestId: randomId() },
  PEER_NOT_FOUND: { userId: USER_B, requestId: randomId() },
  NETWORK_STATE: { peers: [USER_A, USER_B], canRelay: false, storesFor: [USER_B] },
  FILE_OFFER: { fileId: randomId(), name: 'photo.jpg', size: 123_456, mime: 'image/jpeg', sha256: 'f'.repeat(64), chunkSize: 32_768, chunksSha256: 'e'.repeat(64) },
  FILE_ACCEPT: { fileId: randomId(), accept: true },
  FILE_CANCEL: { fileId: randomId(), reason: 'cancelled by the sender' },
  FILE_CHUNK: { fileId: randomId(), seq: 3, data: 'AAECAwQ=' },
  FILE_DONE: { fileId: randomId(), chunks: 4, sha256: '0'.repeat(64) },
  STORE_MESSAGE: { sender: USER_A, recipient: USER_B, msgId: randomId(), sealed: 'AAAA', expiresAt: 1_700_000_000_000 },
  STORE_RECEIPT: { recipient: USER_B, held: [randomId()], refused: [{ msgId: randomId(), code: 'FULL' }] },
  STORE_ACK: { msgIds: [randomId()] },
  RELAY_REQUEST: { target: USER_B, requestId: randomId() },
  RELAY_RESPONSE: { target: USER_B, requestId: randomId(), accept: false },
  RELAY: { target: USER_B, frame: Buffer.from('{"v":1}').toString('base64') },
};
