/**
 * A minimal typed event emitter that runs in the browser and in Node (no 'events' import).
 * Event map: event name → tuple of listener arguments.
 */
export type EventMap = Record<string, unknown[]>;
export type Listener<Args extends unknown[]> = (...args: Args) => void;

export class TypedEmitter<E extends EventMap> {
  private listeners: { [K in keyof E]?: Set<Listener<E[K]>> } = {};

  /** @param onListenerError called when a listener throws; the emitter keeps delivering to the others. */
  constructor(private readonly onListenerError: (error: unknown, event: keyof E) => void) {}

  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    let set = this.listeners[event];
    if (!set) {
      set = new Set();
      this.listeners[event] = set;
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  off<K extends keyof E>(event: K, listener: Listener<E[K]>): void {
    this.listeners[event]?.delete(listener);
  }

  emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.listeners[event];
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (error) {
        this.onListenerError(error, event);
      }
    }
  }

  removeAll(): void {
    this.listeners = {};
  }
}
