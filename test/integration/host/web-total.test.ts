/**
 * Finding 10 from the attacker's side: a real `parley web` process (real host, real store) and a
 * WebSocket client holding the token. Any JSON-shaped `call` and `args` must get exactly one
 * typed reply, and the process (which also hosts the embedded broker in normal use) stays up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import fc from 'fast-check';
import { apiArgs } from '../../../src/shared/api';
import { ensureRendererBuilt, removeTempProfiles, startWeb, tempProfile, type WebInstance } from '../../e2e/support';

const NO_BROKER = 'mqtt://127.0.0.1:9';
let web: WebInstance;
let ws: WebSocket;
type Reply = { id?: unknown; ok?: boolean; error?: { code: string; message: string }; event?: string };
const replies = new Map<number, Reply[]>();
const waiting = new Map<number, () => void>();

beforeAll(async () => {
  ensureRendererBuilt();
  web = await startWeb({ profile: tempProfile('total'), broker: NO_BROKER });
  const url = new URL(web.url);
  const token = url.hash.replace('#token=', '');
  ws = new WebSocket(`ws://${url.host}/api?token=${token}`, { headers: { origin: `http://${url.host}` } });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as Reply;
    if (typeof frame.id !== 'number') return;
    replies.set(frame.id, [...(replies.get(frame.id) ?? []), frame]);
    waiting.get(frame.id)?.();
  });
}, 90_000);

afterAll(async () => {
  ws?.terminate();
  await web?.stop();
  removeTempProfiles();
});

let nextId = 1;
async function call(frame: Record<string, unknown> | string): Promise<Reply> {
  const id = nextId++;
  const text = typeof frame === 'string' ? frame.replace('"$ID"', String(id)) : JSON.stringify({ id, ...frame });
  const got = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply to ${text.slice(0, 200)}; stderr: ${web.stderr().slice(-1000)}`)), 20_000);
    waiting.set(id, () => { clearTimeout(timer); waiting.delete(id); resolve(); });
  });
  ws.send(text);
  await got;
  return replies.get(id)![0]!;
}

describe('parley web: every frame gets one typed reply and the process stays up', () => {
  it('answers a call name with its own toString with UNKNOWN_CALL and keeps serving', async () => {
    const reply = await call('{"id":"$ID","call":{"toString":0},"args":{}}');
    expect(reply.ok).toBe(false);
    expect(reply.error?.code).toBe('UNKNOWN_CALL');
    const who = await call({ call: 'whoami', args: {} });
    expect(who.ok).toBe(true);
  });

  it('fast-check: any JSON value as call and args', async () => {
    const names = Object.keys(apiArgs);
    const callArb = fc.oneof(
      fc.constantFrom(...names),
      fc.jsonValue(),
      fc.constantFrom({ toString: 0 }, { valueOf: 0, toString: 'x' }, { __proto__: null }, ['whoami'], { toJSON: 1 }),
    );
    const argsArb = fc.oneof(fc.jsonValue(), fc.dictionary(fc.constantFrom('userId', 'with', 'to', 'text', 'kind', 'session', 'toString', '__proto__', 'constructor'), fc.jsonValue()));
    const sent: number[] = [];
    await fc.assert(fc.asyncProperty(callArb, argsArb, async (c, a) => {
      const id = nextId;
      sent.push(id);
      const reply = await call({ call: c, args: a });
      expect(typeof reply.ok).toBe('boolean');
      if (reply.ok === false) {
        expect(typeof reply.error?.code).toBe('string');
        expect(typeof reply.error?.message).toBe('string');
      }
    }), { numRuns: 300 });
    // Late duplicates would show up here.
    await new Promise((r) => setTimeout(r, 500));
    for (const id of sent) expect(replies.get(id)?.length, `replies to frame ${id}`).toBe(1);
    const who = await call({ call: 'whoami', args: {} });
    expect(who.ok).toBe(true);
  }, 180_000);
});
