/**
 * Finding 10 through the Electron IPC handler: the real bindIpc in front of the real host
 * services (profile, SQLite store), with the Electron stand-in only carrying the invoke. Whatever
 * the renderer passes as `call` and `args` gets exactly one typed reply; nothing is thrown.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import type { FakeElectron } from './fake-electron';
import { apiArgs } from '../../../src/shared/api';
import type { HostApi } from '../../../src/main/host/host';

const fake = vi.hoisted(() => ({ current: null as FakeElectron | null }));
vi.mock('electron', async () => {
  const { createFakeElectron: create } = await import('./fake-electron');
  fake.current = create();
  return fake.current.module;
});

const PAGE = 'file:///opt/parley/renderer/index.html';
const profile = mkdtempSync(join(tmpdir(), 'parley-ipc-total-'));
let host: HostApi;
type Reply = { ok: boolean; result?: unknown; error?: { code: string; message: string } };
type Handler = (event: unknown, call: unknown, args: unknown) => Promise<Reply>;
let handler: Handler;

beforeAll(async () => {
  const { startHost } = await import('../../../src/main/host/host');
  const { bindIpc } = await import('../../../src/main/electron/ipc');
  host = await startHost({ profileDir: profile, brokerUrl: 'mqtt://127.0.0.1:9' });
  bindIpc(host, PAGE, () => []);
  handler = fake.current!.ipcHandlers.get('parley:call') as Handler;
}, 60_000);

afterAll(async () => {
  await host?.close();
  rmSync(profile, { recursive: true, force: true });
});

const fromPage = { senderFrame: { url: PAGE, parent: null } };

describe('Electron IPC handler is total', () => {
  it('answers a call name with its own toString with UNKNOWN_CALL', async () => {
    const reply = await handler(fromPage, { toString: 0 }, {});
    expect(reply).toMatchObject({ ok: false, error: { code: 'UNKNOWN_CALL' } });
    expect(await handler(fromPage, 'whoami', {})).toMatchObject({ ok: true });
  });

  it('answers odd sender frames with a typed refusal', async () => {
    expect(await handler({}, 'whoami', {})).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    expect(await handler({ senderFrame: { url: { toString: 0 }, parent: null } }, 'whoami', {})).toMatchObject({ ok: false });
  });

  it('fast-check: any JSON value (and what structured clone can carry) as call and args', async () => {
    const names = Object.keys(apiArgs);
    const cyclic = (): unknown => { const o: Record<string, unknown> = {}; o.self = o; return o; };
    const odd = fc.constantFrom<unknown>({ toString: 0 }, { valueOf: 0 }, 10n, new Map([[1, 2]]), new Date(0), new Uint8Array(3), undefined, cyclic());
    const callArb = fc.oneof(fc.constantFrom(...names), fc.jsonValue(), odd);
    const argsArb = fc.oneof(fc.jsonValue(), odd, fc.dictionary(fc.constantFrom('userId', 'with', 'kind', 'toString', '__proto__'), fc.oneof(fc.jsonValue(), odd)));
    await fc.assert(fc.asyncProperty(callArb, argsArb, async (c, a) => {
      let replies = 0;
      const reply = await handler(fromPage, c, a).then((r) => { replies++; return r; });
      expect(replies).toBe(1);
      expect(typeof reply.ok).toBe('boolean');
      if (!reply.ok) {
        expect(typeof reply.error?.code).toBe('string');
        expect(typeof reply.error?.message).toBe('string');
      }
    }), { numRuns: 400 });
    expect(await handler(fromPage, 'whoami', {})).toMatchObject({ ok: true });
  }, 120_000);
});
