/**
 * Packs the envelopes queued for a peer during one event-loop turn into as few data-channel
 * frames as fit (newline-separated; JSON never contains a raw newline). Each envelope keeps its
 * own signature (or, an ACK on a direct channel, none); only the number of channel sends shrinks, which is what a
 * burst pays for most (each send crosses into WebRTC's native thread).
 */
import { MAX_FRAME_BYTES } from '../../renderer/mesh';

export const ENVELOPE_SEPARATOR = '\n';

interface Pending { parts: string[]; bytes: number; onSent: (() => void)[] }

export class FrameBatcher {
  private readonly pending = new Map<string, Pending[]>();
  private scheduled = false;
  private flushing = false;
  private again = false;

  constructor(private readonly send: (peer: string, frame: string) => boolean, private readonly maxBytes = MAX_FRAME_BYTES - 1024) {}

  /** Queues one encoded envelope; `onSent` runs once the frame holding it was handed to the channel. */
  queue(peer: string, envelope: string, onSent?: () => void): void {
    const bytes = Buffer.byteLength(envelope) + 1;
    const frames = this.pending.get(peer) ?? [];
    let last = frames[frames.length - 1];
    if (!last || last.bytes + bytes > this.maxBytes) {
      last = { parts: [], bytes: 0, onSent: [] };
      frames.push(last);
    }
    last.parts.push(envelope);
    last.bytes += bytes;
    if (onSent) last.onSent.push(onSent);
    this.pending.set(peer, frames);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Sends everything queued; frames for a peer whose channel refuses them are dropped (the outbox
   * retries). Callers flush at the end of their turn so the frames leave before the bookkeeping;
   * a flush asked for from inside a frame's onSent runs after this one, keeping the order.
   */
  flush(): void {
    this.scheduled = false;
    if (this.flushing) {
      this.again = true;
      return;
    }
    this.flushing = true;
    try {
      do {
        this.again = false;
        const all = [...this.pending];
        this.pending.clear();
        for (const [peer, frames] of all) {
          for (const frame of frames) {
            if (!this.send(peer, frame.parts.join(ENVELOPE_SEPARATOR))) break;
            for (const done of frame.onSent) done();
          }
        }
      } while (this.again || this.pending.size > 0);
    } finally {
      this.flushing = false;
    }
  }
}

export function splitFrame(frame: string): string[] {
  return frame.split(ENVELOPE_SEPARATOR);
}
