// Broker-to-broker links: exactly one TCP connection per peer pair. The node with the smaller id
// dials (and re-dials with backoff); the other side adopts the inbound connection after its
// PEER_HELLO. Messages to a peer without a live link are dropped: Raft retransmits.
import net from 'node:net';
import { FrameDecoder, encodeFrame, writeFrame, type FrameEvent } from './framing';
import { parseHostPort } from './connection';
import { MAX_PEER_FRAME_BYTES, parsePeerFrame, type MailboxErrorCode, type PeerFrame } from '../../shared/schemas/mailbox';

export interface PeerTransportOptions {
  selfId: string;
  clusterId: string;
  /** this node's own listening address, announced in PEER_HELLO */
  selfAddr: string;
  onFrame(from: string, frame: PeerFrame, reply: (frame: Record<string, unknown>) => void): void;
  onReject(code: MailboxErrorCode, reason: string, source: string, reply: (frame: Record<string, unknown>) => void): void;
  onLinkChange?(peer: string, up: boolean): void;
}

interface Link {
  socket: net.Socket | null;
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
    if (!this.links.has(peer)) this.links.set(peer, { socket: null, dialTimer: null, attempts: 0 });
    this.ensureDial(peer);
  }

  removePeer(peer: string): void {
    const link = this.links.get(peer);
    if (!link) return;
    if (link.dialTimer) clearTimeout(link.dialTimer);
    link.socket?.destroy();
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
    const socket = this.links.get(peer)?.socket;
    if (!socket || socket.destroyed) return false;
    writeFrame(socket, frame);
    return true;
  }

  /** Pushes out every frame written so far instead of waiting for the end of the tick. */
  flush(): void {
    for (const link of this.links.values()) {
      const s = link.socket;
      if (s && !s.destroyed) while (s.writableCorked > 0) s.uncork();
    }
  }

  /** Adopts an inbound connection whose first frame was a valid PEER_HELLO from `peer`. */
  adoptInbound(peer: string, socket: net.Socket, decoder: FrameDecoder, pendingEvents: Iterator<FrameEvent>): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    let link = this.links.get(peer);
    if (!link) {
      link = { socket: null, dialTimer: null, attempts: 0 };
      this.links.set(peer, link);
    }
    if (link.socket && link.socket !== socket) link.socket.destroy();
    link.socket = socket;
    this.opts.onLinkChange?.(peer, true);
    this.attachReader(peer, socket, decoder);
    this.deliver(peer, socket, pendingEvents);
  }

  close(): void {
    this.closed = true;
    for (const link of this.links.values()) {
      if (link.dialTimer) clearTimeout(link.dialTimer);
      link.socket?.destroy();
    }
    this.links.clear();
  }

  private shouldDial(peer: string): boolean {
    return this.opts.selfId < peer && this.dialAddrs.has(peer);
  }

  private ensureDial(peer: string): void {
    const link = this.links.get(peer);
    if (!link || this.closed || !this.shouldDial(peer)) return;
    if (link.socket || link.dialTimer) return;
    const delay = link.attempts === 0 ? 0 : Math.min(50 * 2 ** Math.min(link.attempts, 4), 500);
    link.dialTimer = setTimeout(() => {
      link.dialTimer = null;
      this.dial(peer, link);
    }, delay);
  }

  private dial(peer: string, link: Link): void {
    const addr = this.dialAddrs.get(peer);
    if (!addr || this.closed || this.links.get(peer) !== link) return;
    const { host, port } = parseHostPort(addr);
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    link.socket = socket;
    link.attempts++;
    // Written before 'connect' so it is queued ahead of any Raft frame sent meanwhile.
    socket.write(encodeFrame({ type: 'PEER_HELLO', clusterId: this.opts.clusterId, from: this.opts.selfId, to: peer, addr: this.opts.selfAddr }));
    socket.once('connect', () => {
      link.attempts = 0;
      this.opts.onLinkChange?.(peer, true);
    });
    this.attachReader(peer, socket, new FrameDecoder(MAX_PEER_FRAME_BYTES));
  }

  private attachReader(peer: string, socket: net.Socket, decoder: FrameDecoder): void {
    socket.on('data', (chunk) => this.deliver(peer, socket, decoder.push(chunk)));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      const link = this.links.get(peer);
      if (!link || link.socket !== socket) return;
      link.socket = null;
      this.opts.onLinkChange?.(peer, false);
      this.ensureDial(peer);
    });
  }

  private deliver(peer: string, socket: net.Socket, events: Iterator<FrameEvent>): void {
    const reply = (frame: Record<string, unknown>): void => writeFrame(socket, frame);
    for (let step = events.next(); !step.done; step = events.next()) {
      const ev = step.value;
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
