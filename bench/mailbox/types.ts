// The two systems under test (NATS JetStream and Parley's mailbox) seen through one small interface,
// so every workload, failover run and loss check is the same code for both.

/** One stored message as read back from a queue/stream. */
export interface StoredMessage {
  seq: number;
  data: Uint8Array;
}

export interface AppendClient {
  /** Resolves with the sequence number once the system acknowledged the append (majority commit). */
  append(queue: string, data: Uint8Array, requestId: string): Promise<number>;
  close(): Promise<void>;
}

export interface BenchCluster {
  /** Label used in tables, e.g. "JetStream", "Parley normal". */
  readonly label: string;
  readonly nodeCount: number;
  start(): Promise<void>;
  createQueue(queue: string): Promise<void>;
  /**
   * A fresh client connection (each workload gets its own). `operationTimeoutMs` bounds one append
   * including the client's own retries (default: the client's default).
   */
  connect(options?: { operationTimeoutMs?: number }): Promise<AppendClient>;
  /** Every message currently stored in the queue, in sequence order. */
  readAll(queue: string): Promise<StoredMessage[]>;
  /** Drops a queue's data once it has been verified (keeps disk use bounded). */
  dropQueue(queue: string): Promise<void>;
  /** Index (0-based) of the node that currently leads writes to this queue. */
  leaderIndex(queue: string): Promise<number>;
  kill9(index: number): Promise<void>;
  restart(index: number): Promise<void>;
  /** Resolves once every node is up and the queue's replicas have caught up. */
  waitHealthy(queue: string, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}
