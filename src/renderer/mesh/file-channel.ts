/**
 * A byte pipe over one extra RTCDataChannel (one per file transfer), with flow control between a
 * low and a high watermark on `bufferedAmount` (DESIGN sections 4 and 12).
 *
 * Waiting for room: Chromium fires `bufferedamountlow`, so the sender sleeps until the event
 * (polling there made a transfer 3x slower, localsend/web #37). @roamhq/wrtc never fires it, so in
 * Node the sender polls `bufferedAmount` on a short timer instead. `drain: 'event'` still polls
 * slowly as a safety net in case an event is ever missed.
 */
export const FILE_CHANNEL_HIGH_WATER = 1024 * 1024;
export const FILE_CHANNEL_LOW_WATER = 256 * 1024;
/**
 * Polled (@roamhq/wrtc): a poll that comes late, because the event loop was busy with reads,
 * credits or progress, must not find the queue already empty, so it keeps 1 MiB in reserve and
 * up to 4 MiB queued. With the event's watermarks the sender's pump waited ~80% of a transfer for
 * room and a 256 MiB file moved at 73-78 MiB/s here; with these, 94-95 MiB/s, and chat round trips
 * during a transfer stayed where they were (8.0 → 8.5 ms median, idle 1.9-2.3 ms).
 */
export const POLLED_HIGH_WATER = 4 * 1024 * 1024;
export const POLLED_LOW_WATER = 1024 * 1024;

export type DrainMode = 'event' | 'poll';
export type ChannelData = Uint8Array | string;

export interface FileChannel {
  readonly label: string;
  readonly isOpen: boolean;
  readonly bufferedAmount: number;
  /** Resolves once the channel is open; false if it closed first. */
  opened(): Promise<boolean>;
  /** False if the channel is not open (or refused the data). */
  send(data: ChannelData): boolean;
  /** Resolves when bufferedAmount is at or below the low watermark, or the channel closed. */
  room(): Promise<void>;
  /** True while the queue is above the high watermark: call room() before sending more. */
  readonly full: boolean;
  onMessage(listener: (data: ChannelData) => void): void;
  onClose(listener: () => void): void;
  close(): void;
}

export interface FileChannelOptions {
  drain: DrainMode;
  highWater?: number;
  lowWater?: number;
  pollMs?: number;
}

export function wrapDataChannel(dc: RTCDataChannel, opts: FileChannelOptions): FileChannel {
  const polled = opts.drain === 'poll';
  const high = opts.highWater ?? (polled ? POLLED_HIGH_WATER : FILE_CHANNEL_HIGH_WATER);
  const low = opts.lowWater ?? (polled ? POLLED_LOW_WATER : FILE_CHANNEL_LOW_WATER);
  const pollMs = opts.pollMs ?? (polled ? 2 : 250);
  dc.binaryType = 'arraybuffer';
  try {
    dc.bufferedAmountLowThreshold = low;
  } catch {
    /* not supported: polling covers it */
  }
  let open = dc.readyState === 'open';
  let closed = dc.readyState === 'closing' || dc.readyState === 'closed';
  const closeListeners: (() => void)[] = [];
  const openWaiters: ((ok: boolean) => void)[] = [];
  let roomWaiters: (() => void)[] = [];
  let pollTimer: ReturnType<typeof setInterval> | null = null;

  const wakeRoom = (): void => {
    const waiters = roomWaiters;
    roomWaiters = [];
    if (pollTimer !== null) {
      clearInterval(pollTimer);
      pollTimer = null;
    }
    for (const w of waiters) w();
  };
  const onClosed = (): void => {
    if (closed && !open && closeListeners.length === 0 && openWaiters.length === 0) return;
    const wasClosed = closed;
    closed = true;
    open = false;
    for (const w of openWaiters.splice(0)) w(false);
    wakeRoom();
    if (!wasClosed) for (const l of closeListeners.splice(0)) l();
  };
  dc.addEventListener('open', () => {
    open = true;
    for (const w of openWaiters.splice(0)) w(true);
  });
  dc.addEventListener('close', onClosed);
  dc.addEventListener('error', onClosed);
  if (opts.drain === 'event') dc.addEventListener('bufferedamountlow', wakeRoom);

  const buffered = (): number => {
    if (closed) return 0;
    try {
      known = dc.bufferedAmount;
    } catch {
      known = 0;
    }
    sentSince = 0;
    return known;
  };
  // Reading bufferedAmount is a call into the native side (a thread hop in wrtc), so `full` asks
  // only when the last reading plus what was sent since could be over the high watermark: the
  // queue only grows by our own sends.
  let known = 0;
  let sentSince = 0;

  return {
    label: dc.label,
    get isOpen() {
      return open && !closed;
    },
    get bufferedAmount() {
      return buffered();
    },
    get full() {
      if (closed) return false;
      return known + sentSince > high && buffered() > high;
    },
    opened() {
      if (open) return Promise.resolve(true);
      if (closed) return Promise.resolve(false);
      return new Promise((r) => openWaiters.push(r));
    },
    send(data) {
      if (!open || closed) return false;
      try {
        // The DOM typings want separate overloads; both runtimes take either.
        dc.send(data as string);
        sentSince += typeof data === 'string' ? data.length * 3 : data.byteLength;
        return true;
      } catch {
        return false;
      }
    },
    room() {
      if (closed || buffered() <= low) return Promise.resolve();
      return new Promise<void>((resolve) => {
        roomWaiters.push(resolve);
        if (pollTimer === null) {
          pollTimer = setInterval(() => {
            if (closed || buffered() <= low) wakeRoom();
          }, pollMs);
        }
      });
    },
    onMessage(listener) {
      dc.addEventListener('message', (e: MessageEvent) => {
        const d = binaryOf(e.data);
        if (d !== null) listener(d);
      });
    },
    onClose(listener) {
      if (closed) queueMicrotask(listener);
      else closeListeners.push(listener);
    },
    close() {
      try {
        dc.close();
      } catch {
        /* already closed */
      }
      onClosed();
    },
  };
}

/**
 * A message's data as bytes (or the string itself). Checked by tag, not instanceof: an ArrayBuffer
 * made by native code or another realm (vitest's module context) fails `instanceof ArrayBuffer`.
 */
export function binaryOf(d: unknown): ChannelData | null {
  if (typeof d === 'string') return d;
  if (ArrayBuffer.isView(d)) return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  if (Object.prototype.toString.call(d) === '[object ArrayBuffer]') return new Uint8Array(d as ArrayBuffer);
  return null;
}
