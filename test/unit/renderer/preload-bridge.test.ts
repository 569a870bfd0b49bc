/** The renderer's adapter over the preload bridge: error codes survive the context bridge. */
import { describe, expect, it } from 'vitest';
import { wrapPreloadBridge, type PreloadBridge } from '../../../src/renderer/api/client';
import { ApiError } from '../../../src/renderer/api/errors';

function bridgeFailingWith(message: string): PreloadBridge {
  return {
    call: () => Promise.reject(new Error(message)),
    on: () => () => {},
  };
}

describe('preload bridge adapter', () => {
  it('recovers the code from "CODE: message", also behind an Electron prefix', async () => {
    for (const [raw, code, message] of [
      ['BAD_ARGS: to: userId must be 64 lowercase hex characters', 'BAD_ARGS', 'to: userId must be 64 lowercase hex characters'],
      ["Error invoking remote method 'parley:call': Error: NOT_A_CONTACT: add them first", 'NOT_A_CONTACT', 'add them first'],
      ['something odd happened', 'ERROR', 'something odd happened'],
    ] as const) {
      const err = await wrapPreloadBridge(bridgeFailingWith(raw)).call('whoami', {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe(code);
      expect((err as ApiError).message).toBe(message);
    }
  });

  it('passes results and events straight through', async () => {
    const seen: unknown[] = [];
    const bridge: PreloadBridge = {
      call: async (call, args) => ({ call, args }),
      on: (event, listener) => { listener({ event }); return () => seen.push('off'); },
    };
    const api = wrapPreloadBridge(bridge);
    expect(await api.call('status', {})).toEqual({ call: 'status', args: {} });
    const off = api.on('signaling', (p) => seen.push(p));
    off();
    expect(seen).toEqual([{ event: 'signaling' }, 'off']);
  });
});
