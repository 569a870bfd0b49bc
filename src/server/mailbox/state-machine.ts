// Adapter between the node's client operations and the core's replicated QueueState: validates a
// command before it is proposed, and maps apply results to the wire's error codes.
import { QueueState, encodeQueueCommand, parseQueueCommand, type ApplyResult, type QueueCommand } from './core/queue-state';
import type { Entry } from './core/types';
import type { MailboxErrorCode } from '../../shared/schemas/mailbox';

export type MachineCommand = QueueCommand;

export type MachineResult = { ok: true; seq?: number } | { error: MailboxErrorCode; reason: string };

export type ReadOutcome =
  | { empty: true }
  | { empty: false; seq: number; data: string }
  | { error: MailboxErrorCode; reason: string };

function mapResult(r: ApplyResult): MachineResult {
  if (!r.ok) {
    const code: MailboxErrorCode =
      r.code === 'NO_SUCH_QUEUE' ? 'NO_QUEUE' : r.code === 'ACK_GAP' ? 'ACK_GAP' : r.code === 'QUEUE_FULL' ? 'QUEUE_FULL' : 'SCHEMA';
    return { error: code, reason: r.reason };
  }
  return r.op === 'APPEND' ? { ok: true, seq: r.seq } : { ok: true };
}

export class QueueMachine {
  private state = new QueueState();

  /** Validated log encoding of a client command, or the reason it can't be proposed. */
  encode(cmd: MachineCommand): { ok: true; data: string } | { ok: false; reason: string } {
    const parsed = parseQueueCommand(cmd);
    return parsed.ok ? { ok: true, data: encodeQueueCommand(parsed.value) } : { ok: false, reason: parsed.reason };
  }

  /** Applies one committed entry; null for entries that carry no command or were applied before. */
  apply(entry: Entry): MachineResult | null {
    const r = this.state.apply(entry);
    return r === null ? null : mapResult(r);
  }

  read(queue: string, reader: string): ReadOutcome {
    if (!this.state.hasQueue(queue)) return { error: 'NO_QUEUE', reason: `no queue ${queue}` };
    const m = this.state.read(queue, reader);
    return m === null ? { empty: true } : { empty: false, seq: m.seq, data: m.data };
  }

  /** True when some queue holds a message whose expiry has passed (the leader proposes EXPIRE). */
  hasExpired(now: number): boolean {
    return this.state.hasExpired(now);
  }

  snapshot(): string {
    return this.state.snapshot();
  }

  restore(image: string): void {
    this.state.restore(image);
  }

  /** Checks a snapshot image from the wire before the core may install it. */
  static isValidImage(image: string): boolean {
    try {
      QueueState.fromSnapshot(image);
      return true;
    } catch {
      return false;
    }
  }
}
