// Every append carries a unique counter in a self-describing payload, so the content read back can be
// checked byte for byte; the ledger remembers which counter each acknowledged seq must hold.

const HEADER_PREFIX = 'pb:';
const FILLER_VARIANTS = 64;

export function makePayloadFactory(size: number): (counter: number) => Uint8Array {
  if (size < 24) throw new Error('payload size must be at least 24 bytes');
  const encoder = new TextEncoder();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  // Filler varies with the counter too, so a swapped or truncated body is caught, not only a wrong header.
  const fillers = Array.from({ length: FILLER_VARIANTS }, (_, variant) => {
    let s = '';
    for (let i = 0; i < size; i++) s += alphabet[(i * 7 + variant * 13) % alphabet.length];
    return encoder.encode(s);
  });
  return (counter) => {
    const header = encoder.encode(`${HEADER_PREFIX}${counter}:`);
    const out = new Uint8Array(size);
    out.set(fillers[counter % FILLER_VARIANTS] as Uint8Array);
    out.set(header, 0);
    return out;
  };
}

/** The counter embedded in a payload, or undefined if the payload is not one of ours. */
export function counterOf(data: Uint8Array): number | undefined {
  const head = new TextDecoder().decode(data.subarray(0, 24));
  const match = /^pb:(\d+):/.exec(head);
  return match ? Number(match[1]) : undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export interface LossReport {
  acknowledged: number;
  stored: number;
  /** Acknowledged seqs missing from the queue or holding another append's data. */
  lost: number;
  /** Stored messages whose bytes differ from what was appended. */
  corrupted: number;
  /** The same append stored at two seqs. */
  duplicates: number;
  /** Two different appends acknowledged with the same seq. */
  conflictingAcks: number;
  /** Stored appends the client never saw acknowledged (timed out, then committed): allowed, reported. */
  unacknowledgedButStored: number;
  examples: string[];
}

export class AckLedger {
  private nextCounter = 0;
  private readonly counterBySeq = new Map<number, number>();
  private readonly payloadSizeByCounter = new Map<number, number>();
  private conflicts = 0;
  private readonly conflictExamples: string[] = [];

  /** Reserves a fresh counter for one logical append (retries reuse it). */
  next(payloadSize: number): number {
    const counter = this.nextCounter++;
    this.payloadSizeByCounter.set(counter, payloadSize);
    return counter;
  }

  acknowledge(seq: number, counter: number): void {
    const previous = this.counterBySeq.get(seq);
    if (previous !== undefined && previous !== counter) {
      this.conflicts++;
      if (this.conflictExamples.length < 5) this.conflictExamples.push(`seq ${seq} acked for appends ${previous} and ${counter}`);
      return;
    }
    this.counterBySeq.set(seq, counter);
  }

  get acknowledgedCount(): number {
    return this.counterBySeq.size;
  }

  verify(stored: ReadonlyArray<{ seq: number; data: Uint8Array }>): LossReport {
    const examples = [...this.conflictExamples];
    const note = (msg: string): void => {
      if (examples.length < 10) examples.push(msg);
    };
    const payloads = new Map<number, (counter: number) => Uint8Array>();
    const expectedPayload = (counter: number): Uint8Array | undefined => {
      const size = this.payloadSizeByCounter.get(counter);
      if (size === undefined) return undefined;
      let factory = payloads.get(size);
      if (!factory) payloads.set(size, (factory = makePayloadFactory(size)));
      return factory(counter);
    };

    const counterAtSeq = new Map<number, number>();
    const seenCounters = new Set<number>();
    let corrupted = 0;
    let duplicates = 0;
    for (const message of stored) {
      const counter = counterOf(message.data);
      const expected = counter === undefined ? undefined : expectedPayload(counter);
      if (counter === undefined || expected === undefined || !sameBytes(expected, message.data)) {
        corrupted++;
        note(`seq ${message.seq}: stored bytes are not an appended payload`);
        continue;
      }
      if (seenCounters.has(counter)) {
        duplicates++;
        note(`append ${counter} stored twice (again at seq ${message.seq})`);
      }
      seenCounters.add(counter);
      counterAtSeq.set(message.seq, counter);
    }

    let lost = 0;
    const acknowledgedCounters = new Set<number>();
    for (const [seq, counter] of this.counterBySeq) {
      acknowledgedCounters.add(counter);
      const found = counterAtSeq.get(seq);
      if (found !== counter) {
        lost++;
        note(found === undefined ? `acked seq ${seq} (append ${counter}) missing` : `acked seq ${seq} holds append ${found}, expected ${counter}`);
      }
    }
    let unacknowledgedButStored = 0;
    for (const counter of seenCounters) if (!acknowledgedCounters.has(counter)) unacknowledgedButStored++;

    return {
      acknowledged: this.counterBySeq.size,
      stored: stored.length,
      lost,
      corrupted,
      duplicates,
      conflictingAcks: this.conflicts,
      unacknowledgedButStored,
      examples,
    };
  }
}

export function lossFree(report: LossReport): boolean {
  return report.lost === 0 && report.corrupted === 0 && report.duplicates === 0 && report.conflictingAcks === 0;
}
