/**
 * File channels of a mesh that runs in the renderer (desktop, web mode). The data channels are the
 * page's; their bytes cross the host⇄renderer bridge as bytes, one chunk per message (over IPC by
 * structured clone, in web mode as one binary WebSocket frame: src/shared/bridge-binary.ts), and the host never has more
 * than the high watermark in flight: the renderer reports how many bytes its channel has taken
 * off its buffer (`file.room`), on Chromium's `bufferedamountlow`.
 */
import type { ApiArgs, MeshCommand } from '../../../shared/api';
import type { ChannelData, FileChannel } from '../../../renderer/mesh/file-channel';
import type { FileChannels } from './channels';

type Report = ApiArgs<'mesh.report'>;
export type FileReport = Extract<Report, { kind: `file.${string}` }>;
type FileCommand = Extract<MeshCommand, { op: `file.${string}` }>;
type WithoutSession<T> = T extends unknown ? Omit<T, 'session'> : never;

const MAX_CHANNELS = 64;
/**
 * Bytes the host may have sent that the page's channel has not yet taken off its buffer. Larger
 * than the channel's own watermarks: this also covers what is still crossing the bridge, and with
 * only 1 MiB the page's channel ran dry while the next chunks were on their way (web mode moved
 * files at half the raw rate). 3 MiB of chunks is well under the web server's 8 MiB
 * per-connection buffer cap.
 */
export const BRIDGE_HIGH_WATER = 3 * 1024 * 1024;
export const BRIDGE_LOW_WATER = 1536 * 1024;

class RemoteChannel implements FileChannel {
  private open = false;
  private closed = false;
  private sent = 0;
  private consumed = 0;
  private readonly messageListeners: ((d: ChannelData) => void)[] = [];
  private readonly closeListeners: (() => void)[] = [];
  private openWaiters: ((ok: boolean) => void)[] = [];
  private roomWaiters: (() => void)[] = [];

  constructor(readonly cid: string, readonly label: string, private readonly command: (c: WithoutSession<FileCommand>) => boolean, opened: boolean) {
    this.open = opened;
  }

  get isOpen(): boolean {
    return this.open && !this.closed;
  }

  get bufferedAmount(): number {
    return this.closed ? 0 : this.sent - this.consumed;
  }

  get full(): boolean {
    return this.bufferedAmount > BRIDGE_HIGH_WATER;
  }

  opened(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.open) return Promise.resolve(true);
    return new Promise((r) => this.openWaiters.push(r));
  }

  send(data: ChannelData): boolean {
    if (!this.isOpen || typeof data === 'string') return false;
    if (!this.command({ op: 'file.data', cid: this.cid, data })) return false;
    this.sent += data.length;
    return true;
  }

  room(): Promise<void> {
    if (this.closed || this.bufferedAmount <= BRIDGE_LOW_WATER) return Promise.resolve();
    return new Promise((r) => this.roomWaiters.push(r));
  }

  onMessage(listener: (d: ChannelData) => void): void {
    this.messageListeners.push(listener);
  }

  onClose(listener: () => void): void {
    if (this.closed) queueMicrotask(listener);
    else this.closeListeners.push(listener);
  }

  close(): void {
    if (this.closed) return;
    this.command({ op: 'file.close', cid: this.cid });
    this.closedByRenderer();
  }

  // ── reports from the renderer ──
  markOpen(): void {
    this.open = true;
    for (const w of this.openWaiters.splice(0)) w(true);
  }

  deliver(data: Uint8Array): void {
    if (!this.closed) for (const l of this.messageListeners) l(data);
  }

  room_(consumed: number): void {
    this.consumed = Math.max(this.consumed, Math.min(consumed, this.sent));
    if (this.bufferedAmount > BRIDGE_LOW_WATER) return;
    for (const w of this.roomWaiters.splice(0)) w();
  }

  closedByRenderer(): void {
    if (this.closed) return;
    this.closed = true;
    this.open = false;
    for (const w of this.openWaiters.splice(0)) w(false);
    for (const w of this.roomWaiters.splice(0)) w();
    for (const l of this.closeListeners.splice(0)) l();
  }
}

export class RemoteFileChannels implements FileChannels {
  private readonly channels = new Map<string, RemoteChannel>();
  private readonly listeners: ((peer: string, ch: FileChannel) => void)[] = [];
  private next = 1;
  /** Reports refused (unknown channel, too many channels), for diagnostics. */
  refused = 0;

  /** `command` returns false when no renderer is attached. */
  constructor(private readonly command: (c: WithoutSession<FileCommand>) => boolean) {}

  open(peer: string, label: string): FileChannel | null {
    if (this.channels.size >= MAX_CHANNELS) return null;
    const cid = `h${this.next++}`;
    const ch = new RemoteChannel(cid, label, this.command, false);
    // Registered first: a renderer in the same process answers before command() returns.
    this.channels.set(cid, ch);
    ch.onClose(() => this.channels.delete(cid));
    if (!this.command({ op: 'file.open', userId: peer, label, cid })) {
      this.channels.delete(cid);
      return null;
    }
    return ch;
  }

  onChannel(listener: (peer: string, ch: FileChannel) => void): void {
    this.listeners.push(listener);
  }

  /** A (re)attached or detached renderer: every channel of the previous one is gone. */
  reset(): void {
    for (const ch of [...this.channels.values()]) ch.closedByRenderer();
    this.channels.clear();
  }

  report(r: FileReport): void {
    if (r.kind === 'file.incoming') {
      if (this.channels.has(r.cid) || this.channels.size >= MAX_CHANNELS || !r.cid.startsWith('r')) {
        this.refused++;
        this.command({ op: 'file.close', cid: r.cid });
        return;
      }
      const ch = new RemoteChannel(r.cid, r.label, this.command, true);
      this.channels.set(r.cid, ch);
      ch.onClose(() => this.channels.delete(r.cid));
      for (const l of this.listeners) l(r.userId, ch);
      return;
    }
    const ch = this.channels.get(r.cid);
    if (!ch) {
      this.refused++;
      return;
    }
    switch (r.kind) {
      case 'file.opened': ch.markOpen(); break;
      case 'file.room': ch.room_(r.consumed); break;
      case 'file.closed': ch.closedByRenderer(); break;
      case 'file.data': ch.deliver(r.data); break;
    }
  }
}
