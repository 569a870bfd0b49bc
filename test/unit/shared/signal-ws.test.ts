import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { naclSigner } from '../../../src/shared/crypto';
import { toBase64 } from '../../../src/shared/encoding';
import { generateIdentity } from '../../../src/shared/identity';
import {
  MAX_SIGNAL_BODY_CHARS, parseClientFrame, parseServerFrame, parseSignalAddr, signalAddrFor, signSignalAuth, verifySignalAuth,
} from '../../../src/shared/schemas/signal-ws';
import {
  signAnnounce, signRegistryAuth, verifyAnnounce, verifyRegistryAuth, parseAuthChallengeResponse, parseAuthTokenResponse,
} from '../../../src/shared/schemas/registry';

const NOW = 1_750_000_000_000;
const nonce = (): string => toBase64(randomBytes(32));

describe('signal AUTH frame', () => {
  const id = generateIdentity();
  const n = nonce();
  const auth = signSignalAuth({ nonce: n, deviceId: 'laptop-1', ts: NOW }, id, nodeSigner);

  it('verifies with both signers for its nonce, deviceId and time', () => {
    for (const signer of [nodeSigner, naclSigner]) {
      expect(verifySignalAuth(auth, { signer, nonce: n, deviceId: 'laptop-1', now: NOW })).toEqual({ ok: true, value: auth });
    }
  });

  it('refuses another nonce, another URL deviceId, a swapped userId, stale or future time, junk', () => {
    const opts = { signer: nodeSigner, nonce: n, deviceId: 'laptop-1', now: NOW };
    expect(verifySignalAuth(auth, { ...opts, nonce: nonce() })).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    expect(verifySignalAuth(auth, { ...opts, deviceId: 'laptop-2' })).toMatchObject({ ok: false, code: 'UNAUTHORIZED' });
    expect(verifySignalAuth({ ...auth, deviceId: 'laptop-2' }, { ...opts, deviceId: 'laptop-2' })).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    expect(verifySignalAuth({ ...auth, userId: generateIdentity().userId }, opts)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    expect(verifySignalAuth(auth, { ...opts, now: NOW + 10 * 60_000 })).toMatchObject({ ok: false, code: 'STALE' });
    expect(verifySignalAuth(auth, { ...opts, now: NOW - 10 * 60_000 })).toMatchObject({ ok: false, code: 'FUTURE' });
    expect(verifySignalAuth({ ...auth, extra: 1 }, opts)).toMatchObject({ ok: false, code: 'SCHEMA' });
    expect(verifySignalAuth('AUTH', opts)).toMatchObject({ ok: false, code: 'SCHEMA' });
    expect(verifySignalAuth({ ...auth, sig: 'AAAA' }, opts)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
  });
});

describe('signal frames', () => {
  const user = generateIdentity().userId;
  it('parses every client and server frame kind', () => {
    expect(parseClientFrame(JSON.stringify({ type: 'OFFER', to: 'dev-b', ref: 'r1', body: 'eyJ9' }))).toMatchObject({ ok: true, value: { type: 'OFFER', to: 'dev-b' } });
    expect(parseClientFrame(JSON.stringify({ type: 'NOTIFY', to: 'dev-b', body: '' })).ok).toBe(true);
    expect(parseServerFrame(JSON.stringify({ type: 'CHALLENGE', nonce: nonce() })).ok).toBe(true);
    expect(parseServerFrame(JSON.stringify({ type: 'READY', userId: user, deviceId: 'd' })).ok).toBe(true);
    expect(parseServerFrame(JSON.stringify({ type: 'ERROR', code: 'NOT_ATTACHED', to: 'd', ref: 'r1' })).ok).toBe(true);
    expect(parseServerFrame(JSON.stringify({ type: 'ANSWER', from: 'd', fromUser: user, body: 'x' })).ok).toBe(true);
  });

  it('rejects junk with a typed reason', () => {
    expect(parseClientFrame('{not json')).toMatchObject({ ok: false, code: 'BAD_JSON' });
    expect(parseClientFrame(new Uint8Array([0xff, 0xfe]))).toMatchObject({ ok: false, code: 'BAD_JSON' });
    expect(parseClientFrame(JSON.stringify({ type: 'HELLO', to: 'd', body: '' }))).toMatchObject({ ok: false, code: 'SCHEMA' });
    expect(parseClientFrame(JSON.stringify({ type: 'OFFER', to: '../etc', body: '' }))).toMatchObject({ ok: false, code: 'SCHEMA' });
    expect(parseClientFrame(JSON.stringify({ type: 'OFFER', to: 'd', body: 'x'.repeat(MAX_SIGNAL_BODY_CHARS + 1) }))).toMatchObject({ ok: false, code: 'SCHEMA' });
    expect(parseClientFrame('x'.repeat(70_000))).toMatchObject({ ok: false, code: 'OVERSIZE' });
    expect(parseServerFrame(JSON.stringify({ type: 'ERROR', code: 'WHATEVER' }))).toMatchObject({ ok: false, code: 'SCHEMA' });
  });

  it('builds and splits signal addresses', () => {
    expect(signalAddrFor('ws://127.0.0.1:18885/', 'dev-1')).toBe('ws://127.0.0.1:18885/dev-1');
    expect(parseSignalAddr('ws://127.0.0.1:18885/dev-1')).toEqual({ serverUrl: 'ws://127.0.0.1:18885', deviceId: 'dev-1' });
    expect(parseSignalAddr('wss://signal.example/base/dev-1')).toEqual({ serverUrl: 'wss://signal.example/base', deviceId: 'dev-1' });
    expect(parseSignalAddr('mqtt://host/dev')).toBeNull();
    expect(parseSignalAddr('ws://host')).toBeNull();
  });
});

describe('registry auth bodies', () => {
  const id = generateIdentity();
  it('a token request verifies only for its own nonce and userId', () => {
    const n = nonce();
    const body = signRegistryAuth(n, id, nodeSigner);
    for (const signer of [nodeSigner, naclSigner]) expect(verifyRegistryAuth(body, signer)).toEqual({ ok: true, value: body });
    expect(verifyRegistryAuth({ ...body, nonce: nonce() }, nodeSigner)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    expect(verifyRegistryAuth({ ...body, userId: generateIdentity().userId }, nodeSigner)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    expect(verifyRegistryAuth({ ...body, extra: true }, nodeSigner)).toMatchObject({ ok: false, code: 'SCHEMA' });
    expect(verifyRegistryAuth({ userId: id.userId, nonce: 'short', sig: body.sig }, nodeSigner)).toMatchObject({ ok: false, code: 'SCHEMA' });
  });

  it('validates the challenge and token responses', () => {
    expect(parseAuthChallengeResponse({ nonce: nonce(), expiresAt: '2026-01-01T00:00:00.000Z' }).ok).toBe(true);
    expect(parseAuthTokenResponse({ token: 'a'.repeat(43), expiresAt: '2026-01-01T00:00:00.000Z' }).ok).toBe(true);
    expect(parseAuthTokenResponse({ token: 'a b', expiresAt: '2026-01-01T00:00:00.000Z' })).toMatchObject({ ok: false, code: 'SCHEMA' });
  });

  it('announce ttlMs and signalAddrs are signed and bounded', () => {
    const a = signAnnounce(
      { networkId: 'n', deviceId: 'd', signalAddr: 'ws://h/d', signalAddrs: ['ws://h/d', 'ws://g/d'], canRelay: false, coordinator: true, ttlMs: 30_000, ts: NOW },
      id,
      nodeSigner,
    );
    expect(verifyAnnounce(a, { signer: nodeSigner, now: NOW }).ok).toBe(true);
    expect(verifyAnnounce({ ...a, ttlMs: 60_000 }, { signer: nodeSigner, now: NOW })).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    expect(verifyAnnounce({ ...a, ttlMs: 10 * 60 * 60_000 }, { signer: nodeSigner, now: NOW })).toMatchObject({ ok: false, code: 'SCHEMA' });
  });
});
