// The node's view of the replicated queue state: commands in the log are JSON text; applying one
// yields the result the client gets. Deterministic, so every replica computes the same answers
// (including de-duplication by reqId).
export type MachineCommand =
  | { kind: 'CREATE_QUEUE'; queue: string }
  | { kind: 'APPEND'; queue: string; data: string; reqId: string }
  | { kind: 'ACK'; queue: string; clientId: string; seq: number };

export type MachineResult = { ok: true; seq?: number } | { error: 'NO_QUEUE' | 'QUEUE_EXISTS' | 'SCHEMA'; reason: string };

export type ReadOutcome =
  | { empty: true }
  | { empty: false; seq: number; data: string }
  | { error: 'NO_QUEUE'; reason: string };

interface QueueData {
  messages: string[];
  positions: Map<string, number>;
}

interface Image {
  v: 1;
  queues: Array<{ name: string; messages: string[]; positions: Array<[string, number]> }>;
  dedup: Array<[string, string, number]>;
}

export class QueueMachine {
  private queues = new Map<string, QueueData>();
  /** reqId -> [queue, seq] of the append it produced */
  private dedup = new Map<string, [string, number]>();

  encode(cmd: MachineCommand): string {
    return JSON.stringify(cmd);
  }

  apply(data: string): MachineResult {
    let cmd: MachineCommand;
    try {
      cmd = JSON.parse(data) as MachineCommand;
    } catch {
      return { error: 'SCHEMA', reason: 'undecodable command' };
    }
    switch (cmd.kind) {
      case 'CREATE_QUEUE':
        if (this.queues.has(cmd.queue)) return { error: 'QUEUE_EXISTS', reason: `queue ${cmd.queue} exists` };
        this.queues.set(cmd.queue, { messages: [], positions: new Map() });
        return { ok: true };
      case 'APPEND': {
        const prior = this.dedup.get(cmd.reqId);
        if (prior && prior[0] === cmd.queue) return { ok: true, seq: prior[1] };
        const q = this.queues.get(cmd.queue);
        if (!q) return { error: 'NO_QUEUE', reason: `no queue ${cmd.queue}` };
        q.messages.push(cmd.data);
        const seq = q.messages.length;
        this.dedup.set(cmd.reqId, [cmd.queue, seq]);
        return { ok: true, seq };
      }
      case 'ACK': {
        const q = this.queues.get(cmd.queue);
        if (!q) return { error: 'NO_QUEUE', reason: `no queue ${cmd.queue}` };
        const pos = q.positions.get(cmd.clientId) ?? 0;
        // Positions only move forward, one message at a time: an ACK never skips unread messages.
        if (cmd.seq === pos + 1 && cmd.seq <= q.messages.length) q.positions.set(cmd.clientId, cmd.seq);
        return { ok: true };
      }
      default:
        return { error: 'SCHEMA', reason: 'unknown command' };
    }
  }

  read(queue: string, clientId: string): ReadOutcome {
    const q = this.queues.get(queue);
    if (!q) return { error: 'NO_QUEUE', reason: `no queue ${queue}` };
    const pos = q.positions.get(clientId) ?? 0;
    const data = q.messages[pos];
    return data === undefined ? { empty: true } : { empty: false, seq: pos + 1, data };
  }

  snapshot(): string {
    const image: Image = {
      v: 1,
      queues: [...this.queues].map(([name, q]) => ({ name, messages: q.messages, positions: [...q.positions] })),
      dedup: [...this.dedup].map(([reqId, [queue, seq]]) => [reqId, queue, seq]),
    };
    return JSON.stringify(image);
  }

  restore(data: string): void {
    const image = JSON.parse(data) as Image;
    this.queues = new Map(image.queues.map((q) => [q.name, { messages: q.messages, positions: new Map(q.positions) }]));
    this.dedup = new Map(image.dedup.map(([reqId, queue, seq]) => [reqId, [queue, seq]]));
  }
}
