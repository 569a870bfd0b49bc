/**
 * The one typed event emitter, for the browser and Node alike (no 'events' import). Listener
 * errors are isolated so one bad listener cannot break delivery to the others.
 *
 * Two typed faces over one listener table:
 * - `ArgsEmitter<{ frame: [from: string, frame: string] }>`: listeners take several arguments
 *   (the mesh, which runs in the renderer);
 * - `TypedEmitter<{ state: StatePayload }>`: one payload per event, usable as a base class
 *   (signaling) or a member (the host).
 */
export type EventMap = Record<string, unknown[]>;
export type Listener<Args extends unknown[]> = (...args: Args) => void;
export type ListenerErrorHandler = (error: unknown, event: PropertyKey) => void;

type AnyListener = (...args: unknown[]) => void;

const logListenerError: ListenerErrorHandler = (error, event) => console.error(`listener for '${String(event)}' threw`, error);

/** The untyped core both faces share; the faces make its calls type-safe. */
class ListenerTable {
  private listeners = new Map<PropertyKey, Set<AnyListener>>();

  constructor(private readonly onListenerError: ListenerErrorHandler) {}

  add(event: PropertyKey, listener: AnyListener): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.remove(event, listener);
  }

  once(event: PropertyKey, listener: AnyListener): () => void {
    const off = this.add(event, (...args) => {
      off();
      listener(...args);
    });
    return off;
  }

  remove(event: PropertyKey, listener: AnyListener): void {
    this.listeners.get(event)?.delete(listener);
  }

  emit(event: PropertyKey, args: unknown[]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (error) {
        this.onListenerError(error, event);
      }
    }
  }

  clear(): void {
    this.listeners = new Map();
  }

  count(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }
}

const untyped = (listener: unknown): AnyListener => listener as AnyListener;

/** Several arguments per event. */
export class ArgsEmitter<E extends EventMap> {
  private readonly table: ListenerTable;

  /** @param onListenerError called when a listener throws; the emitter keeps delivering to the others. */
  constructor(onListenerError: ListenerErrorHandler = logListenerError) {
    this.table = new ListenerTable(onListenerError);
  }

  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    return this.table.add(event, untyped(listener));
  }

  once<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    return this.table.once(event, untyped(listener));
  }

  off<K extends keyof E>(event: K, listener: Listener<E[K]>): void {
    this.table.remove(event, untyped(listener));
  }

  emit<K extends keyof E>(event: K, ...args: E[K]): void {
    this.table.emit(event, args);
  }

  removeAll(): void {
    this.table.clear();
  }

  /** Listeners attached, over all events (leak checks). */
  listenerCount(): number {
    return this.table.count();
  }
}

/** One payload per event. */
export class TypedEmitter<Events extends { [K in keyof Events]: unknown }> {
  private readonly table: ListenerTable;

  constructor(onListenerError: ListenerErrorHandler = logListenerError) {
    this.table = new ListenerTable(onListenerError);
  }

  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void {
    return this.table.add(event, untyped(listener));
  }

  once<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void {
    return this.table.once(event, untyped(listener));
  }

  off<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): void {
    this.table.remove(event, untyped(listener));
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    this.table.emit(event, [payload]);
  }

  /** Listeners attached, over all events (leak checks). */
  listenerCount(): number {
    return this.table.count();
  }
}
