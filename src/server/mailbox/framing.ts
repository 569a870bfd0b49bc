// Length-prefixed JSON frames: a 4-byte big-endian payload length, then that many bytes of UTF-8 JSON.
// The decoder never buffers more than maxFrameBytes: an oversize frame is skipped byte-for-byte and
// reported, so the connection stays in sync and keeps serving. Its cost is linear in the bytes fed:
// chunks are kept as a list and copied once, when the frame they belong to is complete.
//
// On an authenticated broker link every payload is sealed (see peer-auth.ts): the decoder's opener
// checks and strips the tag before the JSON is parsed, and the writer's sealer adds it.

export const FRAME_HEADER_BYTES = 4;

export type FrameEvent =
  | { kind: 'frame'; value: unknown }
  | { kind: 'bad_json'; reason: string }
  | { kind: 'bad_mac' }
  | { kind: 'oversize'; bytes: number };

/** Seals outgoing payloads / opens incoming ones (null = tag does not verify). */
export interface FrameSealer {
  seal(body: Buffer): Buffer;
}
export interface FrameOpener {
  open(body: Buffer): Buffer | null;
}

export function encodeFrame(value: unknown, sealer?: FrameSealer): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  const body = sealer ? sealer.seal(json) : json;
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

export interface FrameSocket {
  cork(): void;
  uncork(): void;
  write(b: Buffer): boolean;
  writableCorked: number;
  destroyed: boolean;
}

/**
 * Writes a frame, coalescing every frame written to the same socket in this tick into one
 * syscall (a Ready batch sends many messages per peer; replies to pipelined clients bunch up).
 */
export function writeFrame(socket: FrameSocket, value: unknown, sealer?: FrameSealer): void {
  if (socket.destroyed) return;
  if (socket.writableCorked === 0) {
    socket.cork();
    process.nextTick(() => socket.uncork());
  }
  socket.write(encodeFrame(value, sealer));
}

export class FrameDecoder {
  /** live chunks are chunks[start..]: dropping the first one must not cost O(chunks) */
  private chunks: Buffer[] = [];
  private start = 0;
  private buffered = 0;
  private skipRemaining = 0;
  private opener: FrameOpener | null = null;

  constructor(private maxFrameBytes: number) {}

  get limit(): number {
    return this.maxFrameBytes;
  }

  /** Applies to every frame not yet yielded (e.g. once a connection proves it is a peer). */
  setMaxFrameBytes(n: number): void {
    this.maxFrameBytes = n;
  }

  /** From the next frame on, every payload must pass `opener` (an authenticated link). */
  setOpener(opener: FrameOpener): void {
    this.opener = opener;
  }

  /**
   * Feeds bytes and yields every complete frame (or rejection) they finish. Lazy: the consumer
   * may change the frame cap or the opener between frames; bytes left unconsumed are parsed on
   * the next push.
   */
  *push(data: Buffer): Generator<FrameEvent, void, undefined> {
    let input = data;
    if (this.skipRemaining > 0) {
      const skip = Math.min(this.skipRemaining, input.length);
      this.skipRemaining -= skip;
      input = input.subarray(skip);
      if (input.length === 0) return;
    }
    if (input.length > 0) {
      this.chunks.push(input);
      this.buffered += input.length;
    }
    for (;;) {
      if (this.skipRemaining > 0) break;
      if (this.buffered < FRAME_HEADER_BYTES) break;
      const length = this.peekLength();
      if (length > this.maxFrameBytes) {
        this.take(FRAME_HEADER_BYTES);
        const available = Math.min(this.buffered, length);
        this.take(available);
        this.skipRemaining = length - available;
        yield { kind: 'oversize', bytes: length };
        continue;
      }
      if (this.buffered < FRAME_HEADER_BYTES + length) break;
      this.take(FRAME_HEADER_BYTES);
      yield this.decode(this.take(length));
    }
  }

  private decode(body: Buffer): FrameEvent {
    let json = body;
    if (this.opener) {
      const opened = this.opener.open(body);
      if (opened === null) return { kind: 'bad_mac' };
      json = opened;
    }
    try {
      return { kind: 'frame', value: JSON.parse(json.toString('utf8')) as unknown };
    } catch (err) {
      return { kind: 'bad_json', reason: err instanceof Error ? err.message : String(err) };
    }
  }

  /** The 4 header bytes, which may straddle chunks; copies at most 4 bytes. */
  private peekLength(): number {
    const first = this.chunks[this.start]!;
    if (first.length >= FRAME_HEADER_BYTES) return first.readUInt32BE(0);
    const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    let filled = 0;
    for (let i = this.start; i < this.chunks.length; i++) {
      const c = this.chunks[i]!;
      filled += c.copy(head, filled, 0, Math.min(c.length, FRAME_HEADER_BYTES - filled));
      if (filled === FRAME_HEADER_BYTES) break;
    }
    return head.readUInt32BE(0);
  }

  /** Removes the first n buffered bytes (n <= buffered); copies only when they span chunks. */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    this.buffered -= n;
    const first = this.chunks[this.start]!;
    if (first.length > n) {
      this.chunks[this.start] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.dropFirst();
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[this.start]!;
      const want = n - filled;
      if (c.length <= want) {
        c.copy(out, filled);
        filled += c.length;
        this.dropFirst();
      } else {
        c.copy(out, filled, 0, want);
        this.chunks[this.start] = c.subarray(want);
        filled += want;
      }
    }
    return out;
  }

  private dropFirst(): void {
    this.start++;
    if (this.start === this.chunks.length) {
      this.chunks = [];
      this.start = 0;
    } else if (this.start >= 1024 && this.start * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.start);
      this.start = 0;
    }
  }
}
