// One pipelined request/reply TCP connection to a mailbox node (length-prefixed JSON frames).
import net from 'node:net';
import { FrameDecoder, writeFrame } from './framing';
import { describeDialError, dialMailbox, readyEvent, type MailboxTlsClientOptions } from './wire-socket';
import { parseReply } from '../../shared/schemas/mailbox';

/** Replies are at most one READ (64 KiB of data) plus framing; nothing bigger is buffered. */
const MAX_REPLY_FRAME_BYTES = 1024 * 1024;

export interface RawReply {
  ok: boolean;
  [key: string]: unknown;
}

export class ConnectionClosedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ConnectionClosedError';
  }
}

export class RequestTimeoutError extends Error {
  constructor(ms: number) {
    super(`no reply within ${ms} ms`);
    this.name = 'RequestTimeoutError';
  }
}

interface Pending {
  resolve(reply: RawReply): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export function parseHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  if (i <= 0) throw new Error(`bad address ${addr}`);
  const port = Number(addr.slice(i + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad port in ${addr}`);
  return { host: addr.slice(0, i), port };
}

export class RequestConnection {
  private readonly socket: net.Socket;
  private readonly decoder = new FrameDecoder(MAX_REPLY_FRAME_BYTES);
  private readonly pending = new Map<number, Pending>();
  private nextCorr = 1;
  private closedReason: string | null = null;
  readonly ready: Promise<void>;

  constructor(readonly addr: string, connectTimeoutMs = 2000, tlsOpts?: MailboxTlsClientOptions) {
    const { host, port } = parseHostPort(addr);
    this.socket = dialMailbox(host, port, tlsOpts);
    this.socket.setNoDelay(true);
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(`connect timeout to ${addr}`);
        reject(new ConnectionClosedError(`connect timeout to ${addr}`));
      }, connectTimeoutMs);
      this.socket.once(readyEvent(tlsOpts), () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new ConnectionClosedError(`${addr}: ${describeDialError(err)}`));
      });
    });
    this.ready.catch(() => undefined);
    this.socket.on('data', (chunk) => this.onData(chunk));
    this.socket.on('error', (err) => this.fail(`${addr}: ${describeDialError(err)}`));
    this.socket.on('close', () => this.fail(`${addr}: connection closed`));
  }

  get closed(): boolean {
    return this.closedReason !== null;
  }

  /** Sends one request; `frame.corr` is assigned here. */
  async request(frame: Record<string, unknown>, timeoutMs: number): Promise<RawReply> {
    await this.ready;
    if (this.closedReason !== null) throw new ConnectionClosedError(this.closedReason);
    const corr = this.nextCorr++;
    return new Promise<RawReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(corr);
        reject(new RequestTimeoutError(timeoutMs));
      }, timeoutMs);
      this.pending.set(corr, { resolve, reject, timer });
      writeFrame(this.socket, { ...frame, corr });
    });
  }

  close(): void {
    this.fail('closed by client');
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    for (const ev of this.decoder.push(chunk)) {
      if (ev.kind !== 'frame') continue;
      const parsed = parseReply(ev.value);
      if (!parsed.ok) continue;
      const corr = parsed.value.corr;
      if (corr === null) continue;
      const p = this.pending.get(corr);
      if (!p) continue;
      this.pending.delete(corr);
      clearTimeout(p.timer);
      p.resolve(parsed.value as RawReply);
    }
  }

  private fail(reason: string): void {
    if (this.closedReason === null) this.closedReason = reason;
    for (const [corr, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new ConnectionClosedError(reason));
      this.pending.delete(corr);
    }
    if (!this.socket.destroyed) this.socket.destroy();
  }
}
