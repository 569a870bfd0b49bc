import { describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { naclSigner } from '../../../src/shared/crypto';
import { generateIdentity } from '../../../src/shared/identity';
import {
  DATA_CHANNEL_TYPES, MAX_CHAT_TEXT_CHARS, MAX_FILE_CHUNK_BASE64_CHARS, parseDataChannelBody,
} from '../../../src/shared/schemas/datachannel';
import {
  parseActivePeersResponse, parsePeerResponse, signAnnounce, signCoordinatorHeartbeat, verifyAnnounce, verifyCoordinatorHeartbeat,
} from '../../../src/shared/schemas/registry';
import {
  MAX_SDP_CHARS, parseSealedBody, parseSignalingBody, SIGNALING_TYPES, WS_SIGNALING_TYPES,
} from '../../../src/shared/schemas/signaling';
import { USER_B, validDataChannel, validSignaling } from './samples';

describe('signaling bodies', () => {
  it('accept a valid body of every type and return it tagged with its type', () => {
    expect([...SIGNALING_TYPES, ...WS_SIGNALING_TYPES].sort()).toEqual(Object.keys(validSignaling).sort());
    for (const [type, body] of Object.entries(validSignaling)) {
      expect(parseSignalingBody(type, body)).toEqual({ ok: true, value: { type, body } });
    }
  });

  it('reject unknown types, extra keys, wrong types and oversize SDP with a reason', () => {
    for (const type of ['OFFER_X', 'constructor', '__proto__', '', 42]) {
      expect(parseSignalingBody(type, {})).toMatchObject({ ok: false, code: 'UNKNOWN_TYPE' });
    }
    const cases: Array<[string, unknown]> = [
      ['offer', { sdp: 'x'.repeat(MAX_SDP_CHARS + 1) }],
      ['offer', { sdp: '' }],
      ['offer', { sdp: 'v=0', extra: true }],
      ['iceCandidate', { candidate: 'raw string' }],
      ['contactRequest', { name: '   ', deviceId: 'd1' }],
      ['contactRequest', { name: 'x'.repeat(65), deviceId: 'd1' }],
      ['contactResponse', { accept: 'yes', name: 'B' }],
      ['presence', { status: 'away' }],
      ['heartbeat', null],
      ['RELAY_REQUEST', { target: USER_B.toUpperCase(), requestId: 'r' }],
    ];
    for (const [type, body] of cases) {
      const result = parseSignalingBody(type, body);
      expect(result, `${type} ${JSON.stringify(body).slice(0, 40)}`).toMatchObject({ ok: false, code: 'SCHEMA' });
      if (!result.ok) expect(result.reason).toContain(type);
    }
    expect(parseSignalingBody('offer', { sdp: 'x'.repeat(MAX_SDP_CHARS) }).ok).toBe(true);
  });

  it('sealed bodies must be non-empty base64', () => {
    expect(parseSealedBody({ sealed: 'AAAA' })).toEqual({ ok: true, value: { sealed: 'AAAA' } });
    for (const bad of [{ sealed: '' }, { sealed: 'AA' }, { sealed: 'AAAA', x: 1 }, 'AAAA', null]) {
      expect(parseSealedBody(bad)).toMatchObject({ ok: false, code: 'SCHEMA' });
    }
  });
});

describe('data-channel bodies', () => {
  it('accept a valid body of every type', () => {
    expect([...DATA_CHANNEL_TYPES].sort()).toEqual(Object.keys(validDataChannel).sort());
    for (const [type, body] of Object.entries(validDataChannel)) {
      expect(parseDataChannelBody(type, body)).toEqual({ ok: true, value: { type, body } });
    }
  });

  it('enforce limits: chat text, file chunk size, ids and addresses', () => {
    const chunk = validDataChannel.FILE_CHUNK;
    const cases: Array<[string, unknown]> = [
      ['CHAT_MESSAGE', { text: 'x'.repeat(MAX_CHAT_TEXT_CHARS + 1) }],
      ['CHAT_MESSAGE', { text: '' }],
      ['CHAT_MESSAGE', { text: 'hi', sentAt: -1 }],
      ['CHAT_MESSAGE', { text: 'hi', replyTo: 'msg_789' }],
      ['ACK', { msgId: '789' }],
      ['FILE_CHUNK', { ...chunk, data: 'A'.repeat(MAX_FILE_CHUNK_BASE64_CHARS + 4) }],
      ['FILE_CHUNK', { ...chunk, data: 'not base64!' }],
      ['FILE_CHUNK', { ...chunk, seq: 1.5 }],
      ['PEER_FOUND', { ...validDataChannel.PEER_FOUND, signalAddr: 'javascript:alert(1)' }],
      ['NETWORK_STATE', { peers: Array(257).fill(USER_B), canRelay: true }],
      ['STORE_MESSAGE', { ...validDataChannel.STORE_MESSAGE, sealed: '' }],
    ];
    for (const [type, body] of cases) {
      expect(parseDataChannelBody(type, body), `${type}`).toMatchObject({ ok: false, code: 'SCHEMA' });
    }
    expect(parseDataChannelBody('CHAT_MESSAGE', { text: 'x'.repeat(MAX_CHAT_TEXT_CHARS) }).ok).toBe(true);
    expect(parseDataChannelBody('FILE_CHUNK', { ...chunk, data: 'A'.repeat(MAX_FILE_CHUNK_BASE64_CHARS) }).ok).toBe(true);
    expect(parseDataChannelBody('chat_message', { text: 'hi' })).toMatchObject({ ok: false, code: 'UNKNOWN_TYPE' });
  });
});

describe('registry bodies', () => {
  const id = generateIdentity();
  const NOW = 1_750_000_000_000;
  const announce = signAnnounce(
    { networkId: 'office', deviceId: 'laptop-1', signalAddr: 'ws://127.0.0.1:9000/laptop-1', canRelay: true, coordinator: false, ts: NOW },
    id,
    nodeSigner,
  );

  it('a signed announce verifies with both signers and binds user, network and time', () => {
    for (const signer of [nodeSigner, naclSigner]) {
      expect(verifyAnnounce(announce, { signer, now: NOW, networkId: 'office' })).toEqual({ ok: true, value: announce });
    }
    const other = generateIdentity();
    expect(verifyAnnounce({ ...announce, userId: other.userId }, { signer: nodeSigner, now: NOW })).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    expect(verifyAnnounce({ ...announce, signalAddr: 'ws://evil/x' }, { signer: nodeSigner, now: NOW })).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    expect(verifyAnnounce(announce, { signer: nodeSigner, now: NOW, networkId: 'home' })).toMatchObject({ ok: false, code: 'UNAUTHORIZED' });
    expect(verifyAnnounce(announce, { signer: nodeSigner, now: NOW + 10 * 60_000 })).toMatchObject({ ok: false, code: 'STALE' });
    expect(verifyAnnounce(announce, { signer: nodeSigner, now: NOW - 10 * 60_000 })).toMatchObject({ ok: false, code: 'FUTURE' });
    expect(verifyAnnounce({ ...announce, extra: 1 }, { signer: nodeSigner, now: NOW })).toMatchObject({ ok: false, code: 'SCHEMA' });
    expect(verifyAnnounce('garbage', { signer: nodeSigner, now: NOW })).toMatchObject({ ok: false, code: 'SCHEMA' });
  });

  it('an announce signature cannot be reused as a heartbeat', () => {
    const hb = signCoordinatorHeartbeat({ networkId: 'office', deviceId: 'laptop-1', signalAddr: null, peers: 3, stored: 10, ts: NOW }, id, nodeSigner);
    expect(verifyCoordinatorHeartbeat(hb, { signer: nodeSigner, now: NOW }).ok).toBe(true);
    expect(verifyCoordinatorHeartbeat({ ...hb, stored: 11 }, { signer: nodeSigner, now: NOW })).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
  });

  it('validates peer and active-peers responses', () => {
    expect(parsePeerResponse({ online: false, lastSeen: '2024-01-20T08:00:00Z', lastCoordinators: [USER_B] }).ok).toBe(true);
    expect(parsePeerResponse({ online: false, lastSeen: 'yesterday', lastCoordinators: [] })).toMatchObject({ ok: false, code: 'SCHEMA' });
    expect(parseActivePeersResponse({ peers: [{ userId: USER_B, deviceId: 'd', signalAddr: null, canRelay: true, coordinator: true, lastSeen: '2024-01-20T08:00:00.000Z' }] }).ok).toBe(true);
    expect(parseActivePeersResponse({ peers: {} })).toMatchObject({ ok: false, code: 'SCHEMA' });
  });
});
