/** A tiny in-memory ApiHost for unit tests of the web transport (never used by e2e tests). */
import type { ApiArgs, ApiCall, ApiEvents, ApiResults } from '../../../src/shared/api';
import type { ApiHost } from '../../../src/main/web/server';
import { TypedEmitter } from '../../../src/shared/typed-emitter';

export const FAKE_USER_ID = 'ab'.repeat(32);

export class FakeHost extends TypedEmitter<ApiEvents> implements ApiHost {
  readonly calls: Array<{ call: ApiCall; args: unknown }> = [];
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
      'mesh.report': { ok: true },
    };
    const result = results[call];
    if (result === undefined) throw Object.assign(new Error(`fake host does not implement ${call}`), { code: 'NOT_IMPLEMENTED' });
    return result as ApiResults[C];
  }
}
