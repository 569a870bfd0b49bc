/**
 * Disk writes for a connected session's QoS 1 messages, held back a moment (offline-queues.ts,
 * LevelDB). A message to an online subscriber is nearly always acknowledged within milliseconds,
 * and then its enqueue, its messageId update and its clear (six LevelDB operations, each a packet
 * encoding and a thread-pool round trip on the broker's one thread) were all for nothing: on a
 * signaling hop they took a third of the broker's time. Held, an acknowledged message never
 * touches the disk; one still unacknowledged after HOLD_MS (or when the session's queue is about
 * to be replayed, or the broker closes) is written, enqueue then update, on the session's chain.
 *
 * aedes sends the publisher's PUBACK before it enqueues, so a broker crash could already lose a
 * message in flight; holding widens that window to HOLD_MS for messages the subscriber was being
 * sent, and never touches offline sessions, whose messages are written before anything else.
 */

export const HOLD_MS = 250;

export interface HeldPacket {
  brokerId?: string;
  brokerCounter?: number;
  messageId?: number;
}

interface Held {
  sub: { clientId: string };
  raw: HeldPacket;
  /** The delivery's messageId update, once aedes made it. */
  update: HeldPacket | null;
}

export interface HeldWritesDisk {
  enqueue(sub: { clientId: string }, raw: unknown): Promise<void>;
  update(client: { id: string }, packet: unknown): Promise<void>;
  /** Runs work after everything already queued for this session, counting a failure as `what`. */
  behind(clientId: string, what: string, work: () => Promise<unknown>): void;
}

interface Session {
  byKey: Map<string, Held>;
  byMessageId: Map<number, string>;
  timer: ReturnType<typeof setTimeout> | null;
}

const keyOf = (p: HeldPacket): string => `${p.brokerId ?? ''}:${p.brokerCounter ?? 0}`;

export class HeldWrites {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly disk: HeldWritesDisk, private readonly holdMs = HOLD_MS) {}

  /** Holds the enqueue of `raw` for this connected subscriber. */
  hold(sub: { clientId: string }, raw: HeldPacket): void {
    const session = this.session(sub.clientId);
    session.byKey.set(keyOf(raw), { sub, raw, update: null });
    session.timer ??= setTimeout(() => this.flush(sub.clientId), this.holdMs);
  }

  /** Absorbs aedes' messageId update of a held message; false if it is not held (write it). */
  update(clientId: string, packet: HeldPacket): boolean {
    const session = this.sessions.get(clientId);
    const held = session?.byKey.get(keyOf(packet));
    if (!session || !held) return false;
    if (held.update?.messageId !== undefined) session.byMessageId.delete(held.update.messageId);
    held.update = { ...packet };
    if (packet.messageId !== undefined) session.byMessageId.set(packet.messageId, keyOf(packet));
    return true;
  }

  /** The acknowledgement of a held message: forgotten without a disk write; null if it is not held. */
  clear(clientId: string, messageId: number | undefined): HeldPacket | null {
    const session = this.sessions.get(clientId);
    const key = messageId === undefined ? undefined : session?.byMessageId.get(messageId);
    if (!session || key === undefined) return null;
    const held = session.byKey.get(key)!;
    session.byMessageId.delete(messageId!);
    session.byKey.delete(key);
    if (session.byKey.size === 0) this.end(clientId, session);
    return held.raw;
  }

  /** Writes what this session (or every session) holds, on its chain. */
  flush(clientId?: string): void {
    for (const id of clientId === undefined ? [...this.sessions.keys()] : [clientId]) {
      const session = this.sessions.get(id);
      if (!session) continue;
      this.end(id, session);
      for (const held of session.byKey.values()) {
        this.disk.behind(id, 'held write', async () => {
          await this.disk.enqueue(held.sub, held.raw);
          if (held.update) await this.disk.update({ id }, held.update);
        });
      }
    }
  }

  /** The session's queue is gone (expired, cleaned): nothing held is written. */
  discard(clientId: string): void {
    const session = this.sessions.get(clientId);
    if (session) this.end(clientId, session);
  }

  private session(clientId: string): Session {
    let session = this.sessions.get(clientId);
    if (!session) this.sessions.set(clientId, (session = { byKey: new Map(), byMessageId: new Map(), timer: null }));
    return session;
  }

  private end(clientId: string, session: Session): void {
    if (session.timer) clearTimeout(session.timer);
    this.sessions.delete(clientId);
  }
}
