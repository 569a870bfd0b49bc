import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ADMIN_PROOF_WINDOW_MS, AdminVerifier, ClusterKeyError, parseClusterKey, proveAdmin } from '../../../src/server/mailbox/cluster-key';
import { acceptorProof, dialerProof, linkSession, type Transcript } from '../../../src/server/mailbox/peer-auth';

const key = randomBytes(32);
const t: Transcript = { clusterId: 'c', dialer: 'n1', acceptor: 'n2', dialerNonce: 'a'.repeat(32), acceptorNonce: 'b'.repeat(32) };

describe('cluster key file', () => {
  it('accepts what openssl rand -hex 32 prints and names what is wrong otherwise', () => {
    const hex = key.toString('hex');
    expect(parseClusterKey(hex + '\n').equals(key)).toBe(true);
    expect(parseClusterKey(hex.toUpperCase()).equals(key)).toBe(true);
    expect(() => parseClusterKey(hex.slice(2) + '\n')).toThrow(/62 hex characters, not 64/);
    expect(() => parseClusterKey(hex + '\n\n')).toThrow(ClusterKeyError);
    expect(() => parseClusterKey(' ' + hex.slice(1))).toThrow(/non-hex character \(code 32\) at position 1/);
  });
});

describe('membership proofs', () => {
  const fields = { clusterId: 'c', op: 'LEAVE_CLUSTER', nodeId: 'n2' };

  it('accepts a fresh proof once and refuses a replay, another key, an altered field or a stale clock', () => {
    const v = new AdminVerifier(key);
    const now = 1_000_000;
    const proof = proveAdmin(key, fields, now);
    expect(v.check(fields, proof, now)).toEqual({ ok: true });
    expect(v.check(fields, proof, now + 1)).toMatchObject({ ok: false, reason: expect.stringMatching(/already used/) });
    expect(v.check(fields, proveAdmin(randomBytes(32), fields, now), now)).toMatchObject({ ok: false, reason: expect.stringMatching(/does not match/) });
    expect(v.check({ ...fields, nodeId: 'n3' }, proveAdmin(key, fields, now), now)).toMatchObject({ ok: false });
    expect(v.check({ ...fields, op: 'JOIN_CLUSTER' }, proveAdmin(key, fields, now), now)).toMatchObject({ ok: false });
    expect(v.check(fields, proveAdmin(key, fields, now - ADMIN_PROOF_WINDOW_MS - 1), now)).toMatchObject({ ok: false, reason: expect.stringMatching(/clock/) });
    expect(v.check(fields, undefined, now)).toMatchObject({ ok: false, reason: expect.stringMatching(/--cluster-key/) });
  });

  it('remembers a bounded number of nonces', () => {
    const v = new AdminVerifier(key, 10);
    for (let i = 0; i < 50; i++) expect(v.check(fields, proveAdmin(key, fields, 5000 + i), 5000 + i).ok).toBe(true);
    expect((v as unknown as { seen: Map<string, number> }).seen.size).toBeLessThanOrEqual(10);
  });
});

describe('broker link authentication', () => {
  it('binds the proofs to the roles, ids and nonces', () => {
    expect(acceptorProof(key, t).equals(dialerProof(key, t))).toBe(false);
    expect(acceptorProof(key, t).equals(acceptorProof(key, { ...t, dialer: 'n3' }))).toBe(false);
    expect(acceptorProof(key, t).equals(acceptorProof(key, { ...t, acceptorNonce: 'c'.repeat(32) }))).toBe(false);
    expect(acceptorProof(key, t).equals(acceptorProof(randomBytes(32), t))).toBe(false);
  });

  it('opens sealed frames in order and refuses tampered, replayed, reordered or reflected ones', () => {
    const d = linkSession(key, t, 'dialer');
    const a = linkSession(key, t, 'acceptor');
    const f1 = d.sealer.seal(Buffer.from('{"n":1}'));
    const f2 = d.sealer.seal(Buffer.from('{"n":2}'));
    const f3 = d.sealer.seal(Buffer.from('{"n":3}'));
    expect(a.opener.open(f1)?.toString()).toBe('{"n":1}');
    expect(a.opener.open(f1)).toBeNull(); // replay
    expect(a.opener.open(f3)).toBeNull(); // f2 skipped
    const tampered = Buffer.from(f2);
    const at = tampered.length - 2;
    tampered.writeUInt8(tampered.readUInt8(at) ^ 1, at);
    expect(a.opener.open(tampered)).toBeNull();
    expect(a.opener.open(f2)?.toString()).toBe('{"n":2}');
    // a frame the acceptor sealed does not open as the dialer's (reflection)
    const back = a.sealer.seal(Buffer.from('{"n":3}'));
    expect(linkSession(key, t, 'acceptor').opener.open(back)).toBeNull();
    expect(d.opener.open(back)?.toString()).toBe('{"n":3}');
    expect(a.opener.open(Buffer.from('short'))).toBeNull();
  });
});
