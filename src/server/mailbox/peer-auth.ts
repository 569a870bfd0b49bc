// Mutual authentication of broker links with the cluster key, and a MAC on every frame after it.
//
//   dialer   -> PEER_HELLO     {clusterId, from: D, to: A, addr, nonce: nD}
//   acceptor -> PEER_CHALLENGE {clusterId, from: A, to: D, nonce: nA, mac: HMAC(K, "acceptor", T)}
//   dialer   -> PEER_AUTH      {mac: HMAC(K, "dialer", T)}
//   T = (clusterId, D, A, nD, nA)
//
// Each side proves the key over a transcript binding both node ids and both fresh nonces, so a
// recorded handshake can't be replayed (the other side's nonce is new) or reflected (the roles are
// labelled). Both then derive one key per direction from T, and every later frame's payload is
// HMAC-SHA256(direction key, 64-bit frame counter || JSON) || JSON: forged, altered, replayed,
// reordered or dropped frames fail the check and close the link. No confidentiality (use TLS for
// that); the mailbox payloads are sealed end to end by the clients anyway.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FrameOpener, FrameSealer } from './framing';
import { hmac } from './cluster-key';

export const PEER_MAC_BYTES = 32;
/** An inbound connection must finish the handshake within this time. */
export const PEER_HANDSHAKE_TIMEOUT_MS = 5000;

export interface Transcript {
  clusterId: string;
  dialer: string;
  acceptor: string;
  dialerNonce: string;
  acceptorNonce: string;
}

function parts(t: Transcript): string[] {
  return [t.clusterId, t.dialer, t.acceptor, t.dialerNonce, t.acceptorNonce];
}

export function acceptorProof(key: Buffer, t: Transcript): Buffer {
  return hmac(key, 'parley-mailbox-link-v1', 'acceptor', ...parts(t));
}

export function dialerProof(key: Buffer, t: Transcript): Buffer {
  return hmac(key, 'parley-mailbox-link-v1', 'dialer', ...parts(t));
}

export interface LinkSession {
  sealer: FrameSealer;
  opener: FrameOpener;
}

/** The frame MACs of one link, for the side named by `role`. */
export function linkSession(key: Buffer, t: Transcript, role: 'dialer' | 'acceptor'): LinkSession {
  const d2a = hmac(key, 'parley-mailbox-link-v1', 'frames dialer->acceptor', ...parts(t));
  const a2d = hmac(key, 'parley-mailbox-link-v1', 'frames acceptor->dialer', ...parts(t));
  return role === 'dialer' ? { sealer: new FrameMac(d2a), opener: new FrameMac(a2d) } : { sealer: new FrameMac(a2d), opener: new FrameMac(d2a) };
}

class FrameMac implements FrameSealer, FrameOpener {
  private counter = 0n;
  constructor(private readonly key: Buffer) {}

  private tag(body: Buffer): Buffer {
    const seq = Buffer.allocUnsafe(8);
    seq.writeBigUInt64BE(this.counter, 0);
    return createHmac('sha256', this.key).update(seq).update(body).digest();
  }

  seal(body: Buffer): Buffer {
    const tag = this.tag(body);
    this.counter++;
    return Buffer.concat([tag, body]);
  }

  open(body: Buffer): Buffer | null {
    if (body.length < PEER_MAC_BYTES) return null;
    const json = body.subarray(PEER_MAC_BYTES);
    if (!timingSafeEqual(this.tag(json), body.subarray(0, PEER_MAC_BYTES))) return null;
    this.counter++;
    return json;
  }
}
