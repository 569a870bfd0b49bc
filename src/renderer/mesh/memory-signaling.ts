/**
 * In-memory signaling between meshes in one process (tests, benchmarks, in-process peers).
 * Payloads are JSON round-tripped like on a real transport; optional delay and jitter
 * (jitter reorders messages). Messages to an unattached id are dropped, as a dead peer would.
 */
import type { MeshSignaling, SignalKind } from './mesh';

export interface SignalReceiver {
  handleSignal(from: string, kind: SignalKind, payload: unknown): Promise<void>;
}

export interface MemoryBusOptions {
  delayMs?: number;
  /** Extra random delay in [0, jitterMs): later messages may overtake earlier ones. */
  jitterMs?: number;
  random?: () => number;
}

export interface BusMessage {
  from: string;
  to: string;
  kind: SignalKind;
  payload: unknown;
}

export class MemorySignalingBus {
  private readonly receivers = new Map<string, SignalReceiver>();
  private readonly taps = new Set<(message: BusMessage) => void>();
  private readonly opts: Required<MemoryBusOptions>;
  private held: (() => void)[] | null = null;
  delivered = 0;
  dropped = 0;

  constructor(opts: MemoryBusOptions = {}) {
    this.opts = { delayMs: opts.delayMs ?? 0, jitterMs: opts.jitterMs ?? 0, random: opts.random ?? Math.random };
  }

  /** The signaling object to give the mesh of `userId`. */
  endpoint(userId: string): MeshSignaling {
    return { send: (to, kind, payload) => this.post({ from: userId, to, kind, payload }) };
  }

  attach(userId: string, receiver: SignalReceiver): void {
    this.receivers.set(userId, receiver);
  }

  detach(userId: string): void {
    this.receivers.delete(userId);
  }

  /** Observes every message as it is sent (before delivery); returns the unsubscribe function. */
  tap(listener: (message: BusMessage) => void): () => void {
    this.taps.add(listener);
    return () => this.taps.delete(listener);
  }

  /** Holds every message until resume(): lets a test make both sides send before either receives. */
  pause(): void {
    this.held ??= [];
  }

  resume(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const deliver of held) this.schedule(deliver);
  }

  /** Delivers a raw message as if `from` had sent it (for hostile-input tests). */
  inject(message: BusMessage): void {
    this.post(message);
  }

  private post(message: BusMessage): void {
    for (const tap of this.taps) tap(message);
    const wire = message.payload === undefined ? undefined : (JSON.parse(JSON.stringify(message.payload)) as unknown);
    const deliver = (): void => {
      const receiver = this.receivers.get(message.to);
      if (!receiver) {
        this.dropped++;
        return;
      }
      this.delivered++;
      void receiver.handleSignal(message.from, message.kind, wire).catch(() => undefined);
    };
    if (this.held) this.held.push(deliver);
    else this.schedule(deliver);
  }

  private schedule(deliver: () => void): void {
    const delay = this.opts.delayMs + (this.opts.jitterMs > 0 ? this.opts.random() * this.opts.jitterMs : 0);
    if (delay > 0) setTimeout(deliver, delay);
    else void Promise.resolve().then(deliver);
  }
}
