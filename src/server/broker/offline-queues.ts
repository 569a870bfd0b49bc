/**
 * Caps on what the broker keeps for persistent sessions (issue 10, finding 5): aedes stores every
 * QoS 1 message for every persistent subscriber, online or not, until it is acknowledged, with no
 * limit. This wraps the persistence's outgoing-queue methods (on any backend) with a ledger per
 * clientId; past a cap the oldest message of the sender with the most queued messages is dropped
 * and counted, so a flood pushes out its own messages first and a contact request sent before or
 * after it still reaches the user (in memory always, on LevelDB while the user is offline; see
 * QueuePolicy). Past the broker-wide byte cap, the largest queue gives up one in memory, and the
 * new message is refused on disk.
 *
 * The ledger lives in this process: after a restart on a disk backend, what was already queued is
 * delivered but not counted against the caps.
 */
import { Readable } from 'node:stream';
import { HeldWrites } from './held-writes';
import type { AedesPersistenceLike } from './persistence';

export interface QueueLimits {
  /** Messages kept per session (queued plus in flight). */
  maxMessages: number;
  /** Bytes (payload + topic) kept per session. */
  maxBytes: number;
  /** Bytes kept across all sessions. */
  maxTotalBytes: number;
}

export interface QueueStats {
  queuedMessages: number;
  queuedBytes: number;
  sessionsWithQueue: number;
  dropped: number;
}

interface Entry {
  brokerId: string;
  brokerCounter: number;
  bytes: number;
  /** Who published it: the userId part of the publisher's clientId. */
  sender: string;
}

interface Ledger {
  entries: Entry[];
  bytes: number;
}

type QueuedPacket = { brokerId?: string; brokerCounter?: number; messageId?: number; topic?: string; payload?: Buffer | string; clientId?: string };
type Sub = { clientId: string };

/** Persistence methods this relies on, beyond what AedesPersistenceLike names. */
type OutgoingPersistence = AedesPersistenceLike & {
  outgoingUpdate(client: { id: string }, packet: unknown): Promise<void>;
  outgoingStream(client: { id: string }): AsyncIterable<unknown>;
  cleanSubscriptions(client: { id: string }): Promise<void>;
};

/** messageId that no real MQTT packet carries (they are 1..65535): used to pick one message to delete. */
const DROP_MESSAGE_ID = -1;
const ENTRY_OVERHEAD_BYTES = 200;

export interface BoundedQueues {
  /** Forgets and deletes everything queued for this session (expiry, eviction). */
  dropAll(clientId: string): Promise<void>;
  /**
   * Resolves when every queue write started so far has finished. aedes sends a QoS 1 PUBACK
   * before it queues the message, so a broker must wait for this before closing its backend.
   */
  drain(): Promise<void>;
  stats(): QueueStats;
}

/**
 * - `dropOldest` (aedes' in-memory backend): past a cap the oldest message of the busiest sender
 *   is deleted through the backend's own update/clear calls.
 * - `dropOldestWhileOffline` (LevelDB): the same for a session that is offline, one session's
 *   enqueues and deletes one after another (concurrent deletes through update/clear corrupt a
 *   disk queue). A connected session refuses the new message instead, because aedes may be
 *   replaying its queue and a message deleted under the replay breaks it.
 * - `refuseNew` (Redis, where the session may be connected to another broker process): a full
 *   queue refuses the new message and never touches what is stored.
 */
export type QueuePolicy = 'dropOldest' | 'dropOldestWhileOffline' | 'refuseNew';

export function boundOfflineQueues(
  target: AedesPersistenceLike,
  limits: QueueLimits,
  onDrop: (clientId: string, reason: string) => void,
  policy: QueuePolicy = 'dropOldest',
  isConnected: (clientId: string) => boolean = () => false,
): BoundedQueues {
  const persistence = target as OutgoingPersistence;
  const ledgers = new Map<string, Ledger>();
  let totalBytes = 0;
  let dropped = 0;
  /** Per session, the tail of its serialized enqueue/delete work (dropOldestWhileOffline). */
  const sessionWork = new Map<string, Promise<void>>();
  /** Queue writes not yet finished (drain() waits for them). */
  const writing = new Set<Promise<void>>();
  function track(done: Promise<void>): void {
    writing.add(done);
    void done.then(() => writing.delete(done));
  }

  const enqueueCombi = persistence.outgoingEnqueueCombi.bind(persistence);
  const clearMessageId = persistence.outgoingClearMessageId.bind(persistence);
  const update = persistence.outgoingUpdate.bind(persistence);
  const cleanSubscriptions = persistence.cleanSubscriptions.bind(persistence);

  async function deleteStored(clientId: string, entry: Entry): Promise<void> {
    const client = { id: clientId };
    try {
      await update(client, { brokerId: entry.brokerId, brokerCounter: entry.brokerCounter, messageId: DROP_MESSAGE_ID });
      await clearMessageId(client, { messageId: DROP_MESSAGE_ID });
    } catch {
      // Already acknowledged or cleared meanwhile: nothing left to delete.
    }
  }

  function forget(clientId: string, ledger: Ledger, index: number): Entry {
    const [entry] = ledger.entries.splice(index, 1);
    ledger.bytes -= entry!.bytes;
    totalBytes -= entry!.bytes;
    if (ledger.entries.length === 0) ledgers.delete(clientId);
    return entry!;
  }

  /**
   * Drops the oldest message of whoever has the most messages in this queue, so one flooding
   * sender pushes out its own messages before anyone else's (a contact request sent before a
   * flood survives it).
   */
  async function dropOldest(clientId: string, ledger: Ledger, reason: string): Promise<void> {
    const entry = forget(clientId, ledger, oldestOfBusiestSender(ledger.entries));
    dropped++;
    onDrop(clientId, reason);
    await deleteStored(clientId, entry);
  }

  function largest(): [string, Ledger] | undefined {
    let best: [string, Ledger] | undefined;
    for (const item of ledgers) if (!best || item[1].bytes > best[1].bytes) best = item;
    return best;
  }

  function record(clientId: string, entry: Entry): Ledger {
    let ledger = ledgers.get(clientId);
    if (!ledger) ledgers.set(clientId, (ledger = { entries: [], bytes: 0 }));
    ledger.entries.push(entry);
    ledger.bytes += entry.bytes;
    totalBytes += entry.bytes;
    return ledger;
  }

  function unrecord(clientId: string, entry: Entry): void {
    const ledger = ledgers.get(clientId);
    const index = ledger?.entries.indexOf(entry) ?? -1;
    if (ledger && index >= 0) forget(clientId, ledger, index);
  }

  /** A write behind a delivery failed: the message may not survive a restart of the broker. */
  function onWriteError(clientId: string, reason: string): void {
    dropped++;
    onDrop(clientId, `not stored on disk (${reason})`);
  }

  function refuse(clientId: string): void {
    dropped++;
    onDrop(clientId, `session queue full (${limits.maxMessages} messages, ${limits.maxBytes} B, ${limits.maxTotalBytes} B in all): new message refused`);
  }

  function overCap(ledger: Ledger): boolean {
    return ledger.entries.length > limits.maxMessages || (ledger.bytes > limits.maxBytes && ledger.entries.length > 1);
  }

  function isFull(clientId: string, bytes: number): boolean {
    const ledger = ledgers.get(clientId);
    return (
      (ledger !== undefined && (ledger.entries.length >= limits.maxMessages || ledger.bytes + bytes > limits.maxBytes)) ||
      totalBytes + bytes > limits.maxTotalBytes
    );
  }

  /**
   * Disk backends: a full queue refuses the new message. The slot is taken before the (slow) write,
   * because aedes runs several publishes' enqueues at once: checking first and counting after the
   * write let two messages past a cap of one free slot.
   */
  async function enqueueRefusingNew(subs: Sub[], raw: unknown, entryFor: () => Entry, bytes: number): Promise<void> {
    const admitted: Array<[Sub, Entry]> = [];
    for (const sub of subs) {
      if (isFull(sub.clientId, bytes)) {
        refuse(sub.clientId);
        continue;
      }
      const entry = entryFor();
      record(sub.clientId, entry);
      admitted.push([sub, entry]);
    }
    try {
      await enqueueCombi(admitted.map(([sub]) => sub), raw);
    } catch (error) {
      for (const [sub, entry] of admitted) unrecord(sub.clientId, entry);
      throw error;
    }
  }

  /** The in-memory backend: the message is kept and the oldest of the busiest sender goes. */
  async function enqueueDroppingOldest(subs: Sub[], raw: unknown, entryFor: () => Entry): Promise<void> {
    await enqueueCombi(subs, raw);
    const drops: Array<Promise<void>> = [];
    for (const sub of subs) {
      const ledger = record(sub.clientId, entryFor());
      while (overCap(ledger)) {
        drops.push(dropOldest(sub.clientId, ledger, `session queue over ${limits.maxMessages} messages or ${limits.maxBytes} B: oldest dropped`));
      }
    }
    while (totalBytes > limits.maxTotalBytes) {
      const [clientId, ledger] = largest()!;
      drops.push(dropOldest(clientId, ledger, `broker queues over ${limits.maxTotalBytes} B: oldest of the largest queue dropped`));
    }
    await Promise.all(drops);
  }

  function serialized<T>(clientId: string, work: () => Promise<T>): Promise<T> {
    const run = (sessionWork.get(clientId) ?? Promise.resolve()).then(work);
    const tail = run.then(() => undefined, () => undefined);
    sessionWork.set(clientId, tail);
    track(tail);
    void tail.then(() => {
      if (sessionWork.get(clientId) === tail) sessionWork.delete(clientId);
    });
    return run;
  }

  /** Disk work for a connected session, done behind its delivery (held-writes.ts). */
  function behind(clientId: string, what: string, work: () => Promise<unknown>): void {
    serialized(clientId, work).catch((error: unknown) => onWriteError(clientId, `${what}: ${error instanceof Error ? error.message : String(error)}`));
  }

  const held = new HeldWrites({
    enqueue: async (sub, raw) => {
      try {
        await enqueueCombi([sub], raw);
      } catch (error) {
        const ledger = ledgers.get(sub.clientId);
        const index = ledger ? ledger.entries.findIndex((e) => sameMessage(e, raw as QueuedPacket)) : -1;
        if (ledger && index >= 0) forget(sub.clientId, ledger, index);
        throw error;
      }
    },
    update,
    behind,
  });

  /**
   * LevelDB: drop-oldest for an offline session, one session's enqueues and deletes one after
   * another; a connected session refuses the new message when full. A connected session's
   * message is not waited for: aedes delivers only after the enqueue and the messageId update
   * resolve, four LevelDB round trips on every signaling hop (a setup has two such hops before
   * ICE can start), and held-writes.ts skips the disk entirely for what is acknowledged quickly.
   */
  async function enqueueOneSessionAtATime(subs: Sub[], raw: unknown, entryFor: () => Entry, bytes: number): Promise<void> {
    const offline: Promise<void>[] = [];
    for (const sub of subs) {
      if (isConnected(sub.clientId)) {
        if (isFull(sub.clientId, bytes)) {
          refuse(sub.clientId);
          continue;
        }
        record(sub.clientId, entryFor());
        held.hold(sub, raw as QueuedPacket);
        continue;
      }
      offline.push(serialized(sub.clientId, async () => {
        if (totalBytes + bytes > limits.maxTotalBytes) {
          refuse(sub.clientId);
          return;
        }
        await enqueueCombi([sub], raw);
        const mine = record(sub.clientId, entryFor());
        while (overCap(mine)) {
          await dropOldest(sub.clientId, mine, `session queue over ${limits.maxMessages} messages or ${limits.maxBytes} B: oldest of the busiest sender dropped`);
        }
      }));
    }
    await Promise.all(offline);
  }

  if (policy === 'dropOldestWhileOffline') {
    persistence.outgoingUpdate = (client: { id: string }, packet: unknown) => {
      // Held even if the session dropped meanwhile: its enqueue is not on disk yet, so neither can this be.
      if (held.update(client.id, packet as QueuedPacket)) return Promise.resolve();
      if (!isConnected(client.id)) return serialized(client.id, () => update(client, packet));
      behind(client.id, 'delivery update', () => update(client, packet));
      return Promise.resolve();
    };
    const outgoingStream = persistence.outgoingStream.bind(persistence);
    // A replay after a reconnect must see what was held or still being written for the session.
    persistence.outgoingStream = (client: { id: string }) => Readable.from((async function* () {
      held.flush(client.id);
      await sessionWork.get(client.id);
      yield* outgoingStream(client);
    })());
  }

  persistence.outgoingEnqueueCombi = (allSubs: unknown[], raw: unknown) => {
    const work = enqueue(allSubs as Sub[], raw);
    track(work.catch(() => undefined));
    return work;
  };

  async function enqueue(subs: Sub[], raw: unknown): Promise<void> {
    const packet = raw as QueuedPacket;
    const bytes = packetBytes(packet);
    const entryFor = (): Entry => ({ brokerId: packet.brokerId ?? '', brokerCounter: packet.brokerCounter ?? 0, bytes, sender: senderOf(packet.clientId) });
    if (policy === 'refuseNew') await enqueueRefusingNew(subs, raw, entryFor, bytes);
    else if (policy === 'dropOldestWhileOffline') await enqueueOneSessionAtATime(subs, raw, entryFor, bytes);
    else await enqueueDroppingOldest(subs, raw, entryFor);
  }

  persistence.outgoingClearMessageId = async (client: unknown, packet: unknown) => {
    const clientId = (client as { id: string }).id;
    // After anything still being written for this session, or the acknowledged message would stay on disk.
    const cleared = (policy === 'dropOldestWhileOffline'
      ? held.clear(clientId, (packet as QueuedPacket).messageId) ?? await serialized(clientId, () => clearMessageId(client, packet))
      : await clearMessageId(client, packet)) as QueuedPacket | undefined;
    const ledger = ledgers.get(clientId);
    if (cleared && ledger) {
      const index = ledger.entries.findIndex((e) => sameMessage(e, cleared));
      // Backends that do not return the cleared packet: acknowledgements come mostly in order.
      forget(clientId, ledger, index >= 0 ? index : 0);
    }
    return cleared;
  };

  async function dropAll(clientId: string): Promise<void> {
    held.discard(clientId);
    const ledger = ledgers.get(clientId);
    if (!ledger) return;
    const entries = [...ledger.entries];
    while (ledger.entries.length > 0) forget(clientId, ledger, 0);
    if (policy === 'dropOldest') for (const entry of entries) await deleteStored(clientId, entry);
    if (policy === 'dropOldestWhileOffline') {
      await serialized(clientId, async () => {
        for (const entry of entries) await deleteStored(clientId, entry);
      });
    }
  }

  // A clean session (or an expired one) must not leave its queue behind; aedes' memory backend does.
  persistence.cleanSubscriptions = async (client: { id: string }) => {
    await cleanSubscriptions(client);
    await dropAll(client.id);
  };

  return {
    dropAll,
    drain: async () => {
      held.flush();
      while (writing.size > 0) await Promise.all([...writing]);
    },
    stats: () => ({
      queuedMessages: [...ledgers.values()].reduce((n, l) => n + l.entries.length, 0),
      queuedBytes: totalBytes,
      sessionsWithQueue: ledgers.size,
      dropped,
    }),
  };
}

function sameMessage(entry: Entry, packet: QueuedPacket): boolean {
  return entry.brokerId === (packet.brokerId ?? '') && entry.brokerCounter === (packet.brokerCounter ?? 0);
}

function oldestOfBusiestSender(entries: Entry[]): number {
  const counts = new Map<string, number>();
  let busiest = '';
  let most = 0;
  for (const { sender } of entries) {
    const n = (counts.get(sender) ?? 0) + 1;
    counts.set(sender, n);
    if (n > most) [busiest, most] = [sender, n];
  }
  return Math.max(0, entries.findIndex((e) => e.sender === busiest));
}

/** Parley clientIds are parley-{userId16}-{deviceId}: all devices of one identity count as one sender. */
function senderOf(clientId: string | undefined): string {
  const match = /^parley-([0-9a-f]{16})-/.exec(clientId ?? '');
  return match ? match[1]! : (clientId ?? '');
}

function packetBytes(packet: QueuedPacket): number {
  const payload = packet.payload === undefined ? 0 : typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length;
  return payload + (packet.topic?.length ?? 0) + ENTRY_OVERHEAD_BYTES;
}
