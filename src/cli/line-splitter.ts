/**
 * Splits a byte stream into newline-terminated lines while never holding more than `maxBytes` of
 * an unfinished line: a longer line is dropped as it streams in (reported once, by its size so
 * far) and reading resumes after its newline. Memory stays at most maxBytes plus one chunk.
 */
export interface LineSplitterHandlers {
  line(text: string): void;
  /** A line grew past the limit; `seenBytes` is how much of it had arrived when it was dropped. */
  oversize(seenBytes: number): void;
}

export class LineSplitter {
  private parts: Buffer[] = [];
  private buffered = 0;
  private discarding = false;

  constructor(private readonly maxBytes: number, private readonly handlers: LineSplitterHandlers) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!this.discarding) {
        const piece = chunk.subarray(start, end);
        if (this.buffered + piece.length > this.maxBytes) {
          this.handlers.oversize(this.buffered + piece.length);
          this.parts = [];
          this.buffered = 0;
          this.discarding = true;
        } else if (piece.length > 0) {
          // Copy: the caller's chunk may be reused, and a subarray would pin all of it.
          this.parts.push(Buffer.from(piece));
          this.buffered += piece.length;
        }
      }
      if (nl === -1) return;
      if (!this.discarding) this.emitLine();
      this.discarding = false;
      start = nl + 1;
    }
  }

  /** End of input: an unterminated last line still counts. */
  end(): void {
    if (!this.discarding && this.buffered > 0) this.emitLine();
    this.parts = [];
    this.buffered = 0;
    this.discarding = false;
  }

  private emitLine(): void {
    let text = Buffer.concat(this.parts, this.buffered).toString('utf8');
    this.parts = [];
    this.buffered = 0;
    if (text.endsWith('\r')) text = text.slice(0, -1);
    this.handlers.line(text);
  }
}
