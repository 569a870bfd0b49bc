// Length-prefixed JSON frames: a 4-byte big-endian payload length, then that many bytes of UTF-8 JSON.
// The decoder never buffers more than maxFrameBytes: an oversize frame is skipped byte-for-byte and
// reported, so the connection stays in sync and keeps serving.

export const FRAME_HEADER_BYTES = 4;

export type FrameEvent =
  | { kind: 'frame'; value: unknown }
  | { kind: 'bad_json'; reason: string }
  | { kind: 'oversize'; bytes: number };

export function encodeFrame(value: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

/**
 * Writes a frame, coalescing every frame written to the same socket in this tick into one
 * syscall (a Ready batch sends many messages per peer; replies to pipelined clients bunch up).
 */
export function writeFrame(socket: { cork(): void; uncork(): void; write(b: Buffer): boolean; writableCorked: number; destroyed: boolean }, value: unknown): void {
  if (socket.destroyed) return;
  if (socket.writableCorked === 0) {
    socket.cork();
    process.nextTick(() => socket.uncork());
  }
  socket.write(encodeFrame(value));
}

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private skipRemaining = 0;

  constructor(private maxFrameBytes: number) {}

  /** Applies to every frame not yet yielded (e.g. once a connection turns out to be a client). */
  setMaxFrameBytes(n: number): void {
    this.maxFrameBytes = n;
  }

  /**
   * Feeds bytes and yields every complete frame (or rejection) they finish. Lazy: the consumer
   * may change the frame cap between frames; bytes left unconsumed are parsed on the next push.
   */
  *push(data: Buffer): Generator<FrameEvent, void, undefined> {
    let input = data;
    if (this.skipRemaining > 0) {
      const skip = Math.min(this.skipRemaining, input.length);
      this.skipRemaining -= skip;
      input = input.subarray(skip);
      if (input.length === 0) return;
    }
    this.chunks.push(input);
    this.buffered += input.length;
    for (;;) {
      if (this.skipRemaining > 0) break;
      if (this.buffered < FRAME_HEADER_BYTES) break;
      const head = this.peek(FRAME_HEADER_BYTES);
      const length = head.readUInt32BE(0);
      if (length > this.maxFrameBytes) {
        this.consume(FRAME_HEADER_BYTES);
        const available = Math.min(this.buffered, length);
        this.consume(available);
        this.skipRemaining = length - available;
        yield { kind: 'oversize', bytes: length };
        continue;
      }
      if (this.buffered < FRAME_HEADER_BYTES + length) break;
      this.consume(FRAME_HEADER_BYTES);
      const body = this.consume(length);
      let event: FrameEvent;
      try {
        event = { kind: 'frame', value: JSON.parse(body.toString('utf8')) as unknown };
      } catch (err) {
        event = { kind: 'bad_json', reason: err instanceof Error ? err.message : String(err) };
      }
      yield event;
    }
  }

  private peek(n: number): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return (this.chunks[0] ?? Buffer.alloc(0)).subarray(0, n);
  }

  private consume(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    const all = this.chunks[0] ?? Buffer.alloc(0);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered -= n;
    return out;
  }
}
