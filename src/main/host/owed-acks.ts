/**
 * The receiver's list of ACKs it still owes senders for copies it took from a holder (the mailbox,
 * a coordinator): the holder got its ACK at once, the sender gets one when a channel to it opens.
 *
 * Outside input grows it (a contact can deposit up to the mailbox's queue cap, and keep doing so),
 * so it is bounded: per sender, in total, and in age. Past a cap the oldest entry of the sender
 * that owns the most is dropped, so a flood pushes out its own entries first and never those of
 * the other contacts. Dropping or forgetting an entry loses nothing: the sender keeps every stored
 * message in its SQLite outbox and sends it again on each new channel, and every copy is ACKed.
 * That is also why the list lives in memory only: after a restart the sender's outbox is the
 * record of what still needs an ACK, and it asks again.
 */

export interface OwedAckLimits {
  maxPerPeer: number;
  maxTotal: number;
  /** Older entries are dropped (the mailbox's own expiry: the sender's copy is that old too). */
  ttlMs: number;
}

export const DEFAULT_OWED_ACK_LIMITS: OwedAckLimits = {
  maxPerPeer: 2_000,
  maxTotal: 20_000,
  ttlMs: 30 * 24 * 3600 * 1000,
};

export interface OwedAckStats {
  size: number;
  peers: number;
  /** Entries dropped by the per-sender or the total cap. */
  evicted: number;
  expired: number;
}

export class OwedAcks {
  /** sender → msgId → when it became owed; each inner Map is in insertion (= age) order. */
  private readonly owed = new Map<string, Map<string, number>>();
  private total = 0;
  private evicted = 0;
  private expired = 0;

  constructor(private readonly limits: OwedAckLimits = DEFAULT_OWED_ACK_LIMITS, private readonly now: () => number = Date.now) {}

  add(sender: string, msgId: string): void {
    let ids = this.owed.get(sender);
    if (!ids) {
      ids = new Map();
      this.owed.set(sender, ids);
    }
    if (ids.has(msgId)) return;
    ids.set(msgId, this.now());
    this.total++;
    this.expire(sender, ids);
    if (ids.size > this.limits.maxPerPeer) this.dropOldest(sender, ids);
    while (this.total > this.limits.maxTotal) {
      const [largest, theirs] = this.largest();
      if (!theirs) break;
      this.dropOldest(largest, theirs);
    }
  }

  /** Removes and returns what is owed to `sender` (still fresh), oldest first. */
  take(sender: string): string[] {
    const ids = this.owed.get(sender);
    if (!ids) return [];
    this.expire(sender, ids);
    const out = [...ids.keys()];
    this.total -= ids.size;
    this.owed.delete(sender);
    return out;
  }

  /** A direct ACK reached `sender` for these ids: they are no longer owed. */
  settle(sender: string, msgIds: Iterable<string>): void {
    const ids = this.owed.get(sender);
    if (!ids) return;
    for (const id of msgIds) if (ids.delete(id)) this.total--;
    if (ids.size === 0) this.owed.delete(sender);
  }

  /** Drops expired entries of every sender (call now and then; add/take also expire lazily). */
  sweep(): void {
    for (const [sender, ids] of [...this.owed]) this.expire(sender, ids);
  }

  stats(): OwedAckStats {
    return { size: this.total, peers: this.owed.size, evicted: this.evicted, expired: this.expired };
  }

  private expire(sender: string, ids: Map<string, number>): void {
    const cutoff = this.now() - this.limits.ttlMs;
    for (const [id, at] of ids) {
      if (at > cutoff) break;
      ids.delete(id);
      this.total--;
      this.expired++;
    }
    if (ids.size === 0) this.owed.delete(sender);
  }

  private dropOldest(sender: string, ids: Map<string, number>): void {
    const oldest = ids.keys().next();
    if (oldest.done) return;
    ids.delete(oldest.value);
    this.total--;
    this.evicted++;
    if (ids.size === 0) this.owed.delete(sender);
  }

  private largest(): [string, Map<string, number> | undefined] {
    let best: [string, Map<string, number> | undefined] = ['', undefined];
    for (const [sender, ids] of this.owed) if (!best[1] || ids.size > best[1].size) best = [sender, ids];
    return best;
  }
}
