import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ChatMessage, MessageStatus } from '../../../src/shared/api';
import { mergeStatus, upsertMessage } from '../../../src/renderer/state/messages';
import { checkSettings, validateUserIdInput } from '../../../src/renderer/state/validate';
import { peerStateLabel, statusLabel } from '../../../src/renderer/format';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const msg = (id: string, ts: number, status: MessageStatus = 'pending'): ChatMessage => ({ id, from: A, to: B, text: id, ts, status });

describe('message status', () => {
  it('never moves backwards from delivered', () => {
    expect(mergeStatus('delivered', 'sent')).toBe('delivered');
    expect(mergeStatus('delivered', 'pending')).toBe('delivered');
    expect(mergeStatus('delivered', 'failed')).toBe('delivered');
    expect(mergeStatus('sent', 'delivered')).toBe('delivered');
    expect(mergeStatus('pending', 'failed')).toBe('failed');
    expect(mergeStatus('failed', 'sent')).toBe('sent');
  });

  it('shows the marks the issue asks for', () => {
    expect(statusLabel('pending')).toBe('sending…');
    expect(statusLabel('sent')).toBe('sent ✓');
    expect(statusLabel('delivered')).toBe('delivered ✓✓');
  });
});

describe('conversation list', () => {
  it('stays ordered by (ts, sender, id) as the host store lists it, and holds each id once, whatever the arrival order', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ id: fc.integer({ min: 0, max: 30 }), ts: fc.integer({ min: 0, max: 10 }) }), { maxLength: 60 }),
      (arrivals) => {
        let list: ChatMessage[] = [];
        const tsById = new Map<string, number>();
        // The sender is a function of the id, so an id keeps one sender; half are from each side.
        for (const a of arrivals) {
          list = upsertMessage(list, { ...msg(String(a.id), a.ts), from: a.id % 2 ? B : A, to: a.id % 2 ? A : B });
          tsById.set(String(a.id), a.ts);
        }
        expect(new Set(list.map((m) => m.id)).size).toBe(list.length);
        expect(list.length).toBe(tsById.size);
        for (let i = 1; i < list.length; i++) {
          const p = list[i - 1]!;
          const c = list[i]!;
          expect(p.ts < c.ts || (p.ts === c.ts && (p.from < c.from || (p.from === c.from && p.id < c.id)))).toBe(true);
        }
        for (const m of list) expect(m.ts).toBe(tsById.get(m.id));
      },
    ));
  });

  it('keeps delivered when a stale copy of the message arrives later', () => {
    let list = upsertMessage([], msg('x', 1, 'delivered'));
    list = upsertMessage(list, msg('x', 1, 'sent'));
    expect(list[0]?.status).toBe('delivered');
  });
});

describe('input checks', () => {
  it('accepts a pasted userId with spaces and capitals, and says what is wrong otherwise', () => {
    expect(validateUserIdInput(`  ${'AB'.repeat(32)}\n`, undefined)).toEqual({ ok: true, userId: 'ab'.repeat(32) });
    const short = validateUserIdInput('abc', undefined);
    expect(short.ok).toBe(false);
    expect(!short.ok && short.message).toContain('64');
    const own = validateUserIdInput(A, A);
    expect(!own.ok && own.message).toContain('your own');
  });

  it('checks settings fields with fix-it messages', () => {
    expect(checkSettings('Ann', 'mqtt://127.0.0.1:1883', 'stun:stun.example.org:3478\n\n')).toEqual({
      ok: true, patch: { displayName: 'Ann', brokerUrl: 'mqtt://127.0.0.1:1883', iceServers: ['stun:stun.example.org:3478'] },
    });
    const badBroker = checkSettings('Ann', 'http://x', '');
    expect(!badBroker.ok && badBroker.message).toContain('mqtt://');
    const badIce = checkSettings('Ann', 'mqtt://h:1', 'http://nope');
    expect(!badIce.ok && badIce.message).toContain('stun:');
    expect(checkSettings('  ', 'mqtt://h:1', '').ok).toBe(false);
  });

  it('labels reconnection with its attempt number', () => {
    expect(peerStateLabel({ state: 'RECONNECTING', attempt: 3, path: 'none' })).toBe('Reconnecting (attempt 3)');
    expect(peerStateLabel({ state: 'FAILED', attempt: 5, path: 'none' })).toBe('Failed');
    expect(peerStateLabel({ state: 'CONNECTED', attempt: 0, path: 'direct' })).toBe('Connected (direct)');
  });
});

describe('settings form: mailbox', () => {
  it('accepts empty (built-in), none, and HOST:PORT lists; explains anything else', async () => {
    const { checkSettings } = await import('../../../src/renderer/state/validate');
    expect(checkSettings('Ann', 'mqtt://h:1', '', '')).toMatchObject({ ok: true, patch: { mailbox: '' } });
    expect(checkSettings('Ann', 'mqtt://h:1', '', 'none')).toMatchObject({ ok: true, patch: { mailbox: 'none' } });
    expect(checkSettings('Ann', 'mqtt://h:1', '', 'a.example:7000, b.example:7000\nc:1')).toMatchObject({ ok: true, patch: { mailbox: 'a.example:7000,b.example:7000,c:1' } });
    const bad = checkSettings('Ann', 'mqtt://h:1', '', 'http://mailbox');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.message).toMatch(/HOST:PORT/);
  });
});
