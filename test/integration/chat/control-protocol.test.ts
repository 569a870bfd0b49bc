import { afterEach, describe, expect, it } from 'vitest';
import { HeadlessPeer, tempProfile } from '../../helpers/headless-peer';

// No broker is needed to answer whoami; point at a closed port so nothing external is touched.
const NO_BROKER = 'mqtt://127.0.0.1:9';

describe('parley peer --json control protocol', () => {
  const peers: HeadlessPeer[] = [];
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.quit()));
  });

  it('keeps the same userId across restarts of one profile and differs between profiles', async () => {
    const profileA = tempProfile('a');
    const a1 = await HeadlessPeer.start({ profile: profileA, broker: NO_BROKER });
    const who1 = await a1.ok({ op: 'whoami' });
    expect(who1.userId).toMatch(/^[0-9a-f]{64}$/);
    expect(await a1.quit()).toBe(0);

    const a2 = await HeadlessPeer.start({ profile: profileA, broker: NO_BROKER });
    peers.push(a2);
    const who2 = await a2.ok({ op: 'whoami' });
    expect(who2.userId).toBe(who1.userId);
    expect(who2.deviceId).toBe(who1.deviceId);

    const b = await HeadlessPeer.start({ profile: tempProfile('b'), broker: NO_BROKER });
    peers.push(b);
    const whoB = await b.ok({ op: 'whoami' });
    expect(whoB.userId).not.toBe(who1.userId);
  });

  it('answers garbage with a typed error and keeps answering', async () => {
    const p = await HeadlessPeer.start({ profile: tempProfile('g'), broker: NO_BROKER });
    peers.push(p);
    const before = p.lines.length;
    p.writeRaw('this is not json\n');
    p.writeRaw('[1,2,3]\n');
    p.writeRaw(`${JSON.stringify({ op: 'launch-missiles', reqId: 'x1' })}\n`);
    p.writeRaw(`${JSON.stringify({ op: 'send', to: 'not-a-user', text: 'hi', reqId: 'x2' })}\n`);
    p.writeRaw(`${JSON.stringify({ op: 'whoami', extra: true, reqId: 'x3' })}\n`);
    p.writeRaw(`${JSON.stringify({ op: 'send', to: 'a'.repeat(64), text: 'x'.repeat(300_000) })}\n`);
    const reply = await p.ok({ op: 'whoami' });
    expect(reply.userId).toBe(p.userId);
    const errors = p.lines.slice(before).filter((l) => l.ok === false).map((l) => (l.error as { code: string }).code);
    expect(errors).toEqual(['BAD_JSON', 'BAD_JSON', 'UNKNOWN_OP', 'BAD_ARGS', 'BAD_ARGS', 'OVERSIZE']);
    const unknown = p.lines.find((l) => l.reqId === 'x1');
    expect((unknown?.error as { message: string }).message).toContain('known ops');
  });

  it('refuses to message someone who is not a contact, with a reason', async () => {
    const p = await HeadlessPeer.start({ profile: tempProfile('nc'), broker: NO_BROKER });
    peers.push(p);
    const reply = await p.request({ op: 'send', to: 'b'.repeat(64), text: 'hello' });
    expect(reply.ok).toBe(false);
    expect((reply.error as { code: string }).code).toBe('NOT_A_CONTACT');
  });
});
