// The attacker's (and a hand-rolled peer's) view of a mailbox node: a raw TCP connection speaking
// length-prefixed frames, optionally through the cluster-key handshake (when the test holds the key).
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { FrameDecoder, encodeFrame, type FrameSealer } from '../../../src/server/mailbox/framing';
import { acceptorProof, dialerProof, linkSession } from '../../../src/server/mailbox/peer-auth';
import { waitFor } from './cluster';

export class RawConn {
  private readonly decoder = new FrameDecoder(1 << 26);
  readonly frames: Array<Record<string, unknown>> = [];
  private sealer: FrameSealer | undefined;
  closed = false;
  /** bytes this side managed to hand to the kernel before the node closed the connection */
  written = 0;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d) => {
      for (const ev of this.decoder.push(d)) if (ev.kind === 'frame') this.frames.push(ev.value as Record<string, unknown>);
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => (this.closed = true));
  }

  static open(addr: string): Promise<RawConn> {
    const [host, port] = addr.split(':');
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: host!, port: Number(port) }, () => resolve(new RawConn(s)));
      s.setNoDelay(true);
      s.once('error', reject);
    });
  }

  /** Runs the dialer's side of the broker handshake with `key` (a real member's key, or a guess). */
  static async peer(addr: string, opts: { key: Buffer; clusterId: string; from: string; to: string }): Promise<RawConn> {
    const conn = await RawConn.open(addr);
    const nonce = randomBytes(16).toString('hex');
    conn.send({ type: 'PEER_HELLO', clusterId: opts.clusterId, from: opts.from, to: opts.to, addr: null, nonce });
    const [challenge] = await conn.next(1);
    if (challenge?.type !== 'PEER_CHALLENGE') throw new Error(`no challenge: ${JSON.stringify(challenge)}`);
    const t = { clusterId: opts.clusterId, dialer: opts.from, acceptor: opts.to, dialerNonce: nonce, acceptorNonce: String(challenge.nonce) };
    if (acceptorProof(opts.key, t).toString('hex') !== challenge.mac) throw new Error('node failed to prove the key');
    conn.send({ type: 'PEER_AUTH', mac: dialerProof(opts.key, t).toString('hex') });
    const session = linkSession(opts.key, t, 'dialer');
    conn.decoder.setOpener(session.opener);
    conn.sealer = session.sealer;
    return conn;
  }

  sendRaw(bytes: Buffer): boolean {
    this.written += bytes.length;
    return this.socket.write(bytes);
  }

  send(value: unknown): void {
    this.sendRaw(encodeFrame(value, this.sealer));
  }

  /** A frame whose body is `text` verbatim (sealed on an authenticated link). */
  sendJson(text: string): void {
    const json = Buffer.from(text, 'utf8');
    const body = this.sealer ? this.sealer.seal(json) : json;
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length, 0);
    this.sendRaw(Buffer.concat([head, body]));
  }

  async next(count: number, timeoutMs = 10_000): Promise<Array<Record<string, unknown>>> {
    await waitFor(`${count} frames`, () => this.frames.length >= count, timeoutMs, 20);
    return this.frames.splice(0, count);
  }

  close(): void {
    this.socket.destroy();
  }
}
