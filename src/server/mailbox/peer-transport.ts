// Broker-to-broker links: exactly one TCP connection per peer pair. The node with the smaller id
// dials (and re-dials with backoff); the other side adopts the inbound connection once it has
// passed the cluster-key handshake (peer-auth.ts). Until then a connection is nobody: it keeps the
// client frame cap, can't replace a live link, and none of its frames reach Raft. Messages to a
// peer without a live link are dropped: Raft retransmits.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { FrameDecoder, encodeFrame, writeFrame, type FrameEvent, type FrameSealer } from './framing';
import { parseHostPort } from './connection';
import { macEquals } from './cluster-key';
import { PEER_HANDSHAKE_TIMEOUT_MS, acceptorProof, dialerProof, linkSession, type Transcript } from './peer-auth';
import {
  MAILBOX_ERROR_CODES,
  MAX_CLIENT_FRAME_BYTES,
  MAX_PEER_FRAME_BYTES,
  parsePeerAuth,
  parsePeerChallenge,
  parsePeerFrame,
  type MailboxErrorCode,
  type PeerFrame,
  type PeerHello,
} from '../../shared/schemas/mailbox';

/** Output buffered towards one peer beyond which further frames are dropped (Raft resends). */
export const MAX_PEER_OUTPUT_BYTES = MAX_PEER_FRAME_BYTES + 16 * 1024 * 1024;

type Reply = (frame: Record<string, unknown>) => void;

export interface PeerTransportOptions {
  selfId: string;
  clusterId: string;
  /** this node's own listening address, announced in PEER_HELLO */
  selfAddr: string;
  /** the cluster key; without one this node neither dials nor accepts peers */
  key: Buffer | null;
  onFrame(from: string, frame: PeerFrame, reply: Reply): void;
  /** counts a rejection; `reply` (when given) answers on the connection it came from */
  onReject(code: MailboxErrorCode, reason: string, source: string, reply?: Reply): void;
  /** counts a refusal that has no reply (e.g. BAD_MAC, or a peer refusing our dial) */
  onCount(counter: string, reason: string, source: string): void;
  onLinkChange?(peer: string, up: boolean): void;
  /** dialing: a plain or TLS socket to `addr` */
  connect?(host: string, port: number): net.Socket;
}

interface Link {
  /** the authenticated connection (frames flow) */
  socket: net.Socket | null;
  sealer: FrameSealer | null;
  /** our own dial still in its handshake */
  dialing: net.Socket | null;
  dialTimer: NodeJS.Timeout | null;
  attempts: number;
}

export class PeerTransport {
  private readonly dialAddrs = new Map<string, string>();
  private readonly links = new Map<string, Link>();
  private closed = false;

  constructor(private readonly opts: PeerTransportOptions) {}

  /** Sets the address to dial for `peer` (only used when our id is the smaller one). */
  setPeer(peer: string, addr: string | null): void {
    if (peer === this.opts.selfId) return;
    if (addr !== null) this.dialAddrs.set(peer, addr);
    if (!this.links.has(peer)) this.links.set(peer, { socket: null, sealer: null, dialing: null, dialTimer: null, attempts: 0 });
    this.ensureDial(peer);
  }

  removePeer(peer: string): void {
    const link = this.links.get(peer);
    if (!link) return;
    if (link.dialTimer) clearTimeout(link.dialTimer);
    link.socket?.destroy();
    link.dialing?.destroy();
    this.links.delete(peer);
    this.dialAddrs.delete(peer);
  }

  peers(): string[] {
    return [...this.links.keys()];
  }

  isUp(peer: string): boolean {
    const s = this.links.get(peer)?.socket;
    return !!s && !s.destroyed;
  }

  send(peer: string, frame: Record<string, unknown>): boolean {
    const link = this.links.get(peer);
    const socket = link?.socket;
    if (!link || !socket || socket.destroyed || !link.sealer) return false;
    if (socket.writableLength > MAX_PEER_OUTPUT_BYTES) return false; // checked before sealing: the frame counter stays in step
    writeFrame(socket, frame, link.sealer);
    return true;
  }

  /** Pushes out every frame written so far instead of waiting for the end of the tick. */
  flush(): void {
    for (const link of this.links.values()) {
      const s = link.socket;
      if (s && !s.destroyed) while (s.writableCorked > 0) s.uncork();
    }
  }

  /**
   * An inbound connection whose first frame was `hello` (already checked to be for this cluster
   * and this node): challenge it, and adopt it as the link to `hello.from` only if it proves the key.
   */
  acceptHello(hello: PeerHello, socket: net.Socket, decoder: FrameDecoder, rest: Iterator<FrameEvent>, onAuthenticated?: () => void): void {
    const source = `inbound ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'} claiming ${hello.from}`;
    const plainReply: Reply = (frame) => writeFrame(socket, frame);
    const key = this.opts.key;
    if (this.closed || !key) {
      this.opts.onReject('FORBIDDEN', 'this mailbox node has no cluster key (--cluster-key FILE) and takes no broker links', source, plainReply);
      socket.end();
      return;
    }
    const t: Transcript = {
      clusterId: this.opts.clusterId,
      dialer: hello.from,
      acceptor: this.opts.selfId,
      dialerNonce: hello.nonce,
      acceptorNonce: randomBytes(16).toString('hex'),
    };
    writeFrame(socket, { type: 'PEER_CHALLENGE', clusterId: t.clusterId, from: t.acceptor, to: t.dialer, nonce: t.acceptorNonce, mac: acceptorProof(key, t).toString('hex') });
    let done = false;
    const fail = (reason: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.opts.onReject('UNAUTHENTICATED', reason, source, plainReply);
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    };
    const timer = setTimeout(() => fail(`no PEER_AUTH within ${PEER_HANDSHAKE_TIMEOUT_MS} ms`), PEER_HANDSHAKE_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => step(decoder.push(chunk));
    const step = (events: Iterator<FrameEvent>): void => {
      if (done) return;
      const first = events.next();
      if (first.done) return;
      const ev = first.value;
      if (ev.kind !== 'frame') return fail(ev.kind === 'oversize' ? `handshake frame of ${ev.bytes} bytes` : `handshake frame is not JSON`);
      const auth = parsePeerAuth(ev.value);
      if (!auth.ok) return fail(`expected PEER_AUTH: ${auth.reason}`);
      if (!macEquals(dialerProof(key, t), auth.value.mac)) return fail(`PEER_AUTH from ${hello.from} does not prove the cluster key`);
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      const session = linkSession(key, t, 'acceptor');
      decoder.setOpener(session.opener);
      decoder.setMaxFrameBytes(MAX_PEER_FRAME_BYTES);
      onAuthenticated?.();
      this.adopt(hello.from, socket, session.sealer, decoder, events);
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => clearTimeout(timer));
    step(rest);
  }

  close(): void {
    this.closed = true;
    for (const link of this.links.values()) {
      if (link.dialTimer) clearTimeout(link.dialTimer);
      link.socket?.destroy();
      link.dialing?.destroy();
    }
    this.links.clear();
  }

  /** Makes an authenticated connection the link to `peer` (replacing an older authenticated one). */
  private adopt(peer: string, socket: net.Socket, sealer: FrameSealer, decoder: FrameDecoder, pending: Iterator<FrameEvent>): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    let link = this.links.get(peer);
    if (!link) {
      link = { socket: null, sealer: null, dialing: null, dialTimer: null, attempts: 0 };
      this.links.set(peer, link);
    }
    const old = link.socket;
    link.socket = socket;
    link.sealer = sealer;
    if (old && old !== socket) old.destroy();
    this.opts.onLinkChange?.(peer, true);
    this.attachReader(peer, socket, sealer, decoder);
    this.deliver(peer, socket, sealer, pending);
  }

  private shouldDial(peer: string): boolean {
    return this.opts.key !== null && this.opts.selfId < peer && this.dialAddrs.has(peer);
  }

  private ensureDial(peer: string): void {
    const link = this.links.get(peer);
    if (!link || this.closed || !this.shouldDial(peer)) return;
    if (link.socket || link.dialing || link.dialTimer) return;
    const delay = link.attempts === 0 ? 0 : Math.min(50 * 2 ** Math.min(link.attempts, 4), 500);
    link.dialTimer = setTimeout(() => {
      link.dialTimer = null;
      this.dial(peer, link);
    }, delay);
  }

  private dial(peer: string, link: Link): void {
    const addr = this.dialAddrs.get(peer);
    const key = this.opts.key;
    if (!addr || !key || this.closed || this.links.get(peer) !== link) return;
    const { host, port } = parseHostPort(addr);
    const socket = this.opts.connect ? this.opts.connect(host, port) : net.connect({ host, port });
    socket.setNoDelay(true);
    link.dialing = socket;
    link.attempts++;
    const nonce = randomBytes(16).toString('hex');
    socket.write(encodeFrame({ type: 'PEER_HELLO', clusterId: this.opts.clusterId, from: this.opts.selfId, to: peer, addr: this.opts.selfAddr, nonce }));
    // The acceptor has proved nothing yet either: client-sized frames until it does.
    const decoder = new FrameDecoder(MAX_CLIENT_FRAME_BYTES);
    const source = `dialed ${peer} at ${addr}`;
    let done = false;
    const fail = (counter: string, reason: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.opts.onCount(counter, reason, source);
      socket.destroy();
    };
    const timer = setTimeout(() => fail('UNAUTHENTICATED', `no PEER_CHALLENGE within ${PEER_HANDSHAKE_TIMEOUT_MS} ms`), PEER_HANDSHAKE_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      if (done) return;
      const events = decoder.push(chunk);
      const first = events.next();
      if (first.done) return;
      const ev = first.value;
      if (ev.kind !== 'frame') return fail('UNAUTHENTICATED', `handshake answer is ${ev.kind}`);
      const type = (ev.value as { type?: unknown } | null)?.type;
      if (type === 'REJECT') {
        const code = (ev.value as { code?: unknown }).code;
        const known = (MAILBOX_ERROR_CODES as readonly unknown[]).includes(code) ? String(code) : 'REJECT';
        return fail(`PEER_SENT_${known}`, `${peer} refused the link`);
      }
      const ch = parsePeerChallenge(ev.value);
      if (!ch.ok) return fail('UNAUTHENTICATED', `expected PEER_CHALLENGE: ${ch.reason}`);
      const c = ch.value;
      if (c.clusterId !== this.opts.clusterId || c.from !== peer || c.to !== this.opts.selfId) {
        return fail('UNAUTHENTICATED', `PEER_CHALLENGE from ${c.from} to ${c.to} in ${c.clusterId}`);
      }
      const t: Transcript = { clusterId: this.opts.clusterId, dialer: this.opts.selfId, acceptor: peer, dialerNonce: nonce, acceptorNonce: c.nonce };
      if (!macEquals(acceptorProof(key, t), c.mac)) return fail('UNAUTHENTICATED', `${peer} at ${addr} does not prove the cluster key`);
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      writeFrame(socket, { type: 'PEER_AUTH', mac: dialerProof(key, t).toString('hex') });
      const session = linkSession(key, t, 'dialer');
      decoder.setOpener(session.opener);
      decoder.setMaxFrameBytes(MAX_PEER_FRAME_BYTES);
      if (link.dialing === socket) link.dialing = null;
      if (this.links.get(peer) !== link) {
        socket.destroy();
        return;
      }
      link.attempts = 0;
      this.adopt(peer, socket, session.sealer, decoder, events);
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(timer);
      if (link.dialing !== socket) return;
      link.dialing = null;
      this.ensureDial(peer);
    });
  }

  private attachReader(peer: string, socket: net.Socket, sealer: FrameSealer, decoder: FrameDecoder): void {
    socket.on('data', (chunk) => this.deliver(peer, socket, sealer, decoder.push(chunk)));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      const link = this.links.get(peer);
      if (!link || link.socket !== socket) return;
      link.socket = null;
      link.sealer = null;
      this.opts.onLinkChange?.(peer, false);
      this.ensureDial(peer);
    });
  }

  private deliver(peer: string, socket: net.Socket, sealer: FrameSealer, events: Iterator<FrameEvent>): void {
    const reply: Reply = (frame) => writeFrame(socket, frame, sealer);
    for (let step = events.next(); !step.done; step = events.next()) {
      if (socket.destroyed) return;
      const ev = step.value;
      if (ev.kind === 'bad_mac') {
        // Injected or corrupted bytes: the stream can't be trusted from here on.
        this.opts.onCount('BAD_MAC', `frame on the link from ${peer} fails its MAC`, peer);
        socket.destroy();
        return;
      }
      if (ev.kind === 'oversize') {
        this.opts.onReject('OVERSIZE', `peer frame of ${ev.bytes} bytes exceeds ${MAX_PEER_FRAME_BYTES}`, peer, reply);
        continue;
      }
      if (ev.kind === 'bad_json') {
        this.opts.onReject('BAD_JSON', ev.reason, peer, reply);
        continue;
      }
      const parsed = parsePeerFrame(ev.value);
      if (!parsed.ok) {
        this.opts.onReject(parsed.code, parsed.reason, peer, reply);
        continue;
      }
      this.opts.onFrame(peer, parsed.value, reply);
    }
  }
}
