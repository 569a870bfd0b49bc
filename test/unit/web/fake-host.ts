/** A tiny in-memory ApiHost for unit tests of the web transport (never used by e2e tests). */
import type { ApiArgs, ApiCall, ApiEventName, ApiEvents, ApiResults } from '../../../src/shared/api';
import type { ApiHost } from '../../../src/main/web/server';

export const FAKE_USER_ID = 'ab'.repeat(32);

export class FakeHost implements ApiHost {
  readonly calls: Array<{ call: ApiCall; args: unknown }> = [];
  private readonly listeners = new Map<ApiEventName, Set<(p: never) => void>>();
  failNext: Error | null = null;

  async handle<C extends ApiCall>(call: C, args: ApiArgs<C>): Promise<ApiResults[C]> {
    this.calls.push({ call, args });
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = null;
      throw err;
    }
    const results: Partial<{ [K in ApiCall]: ApiResults[K] }> = {
      whoami: { userId: FAKE_USER_ID, deviceId: 'd'.repeat(32), name: 'Fake' },
      'messages.send': { id: 'm'.repeat(32) },
      'contacts.list': [],
    };
    const result = results[call];
    if (result === undefined) throw Object.assign(new Error(`fake host does not implement ${call}`), { code: 'NOT_IMPLEMENTED' });
    return result as ApiResults[C];
  }

  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (p: never) => void);
    return () => { set.delete(listener as (p: never) => void); };
  }

  emit<E extends ApiEventName>(event: E, payload: ApiEvents[E]): void {
    for (const l of this.listeners.get(event) ?? []) (l as (p: ApiEvents[E]) => void)(payload);
  }

  listenerCount(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }
}
