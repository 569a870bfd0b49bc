/**
 * "Let contacts find me" off (the `discoverable` setting, on by default): Bob, connected to Carol,
 * does not tell anyone where she is, so Alice's PEER_QUERY goes unanswered and the registry finds
 * her instead. Real headless peers, a real attacker-style asker for an exact no-answer check.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/main/store';
import { HeadlessPeer, messagesWith, eventually, tempProfile } from '../../helpers/headless-peer';
import {
  addContact, befriendSlowly, connectedTrace, DISCOVERY_ENV, PEER_READY_MS, reachArgs, signalAddrsOf,
  startRolePeer, waitConnected,
  reachSuite,
} from '../../helpers/discovery-trio';

const ATTACKER = fileURLToPath(new URL('./fixtures/attacker.mjs', import.meta.url));

const suite = reachSuite();
const { running } = suite;

/** A profile whose saved settings already say "do not let contacts find me" (as the settings screen stores it). */
function undiscoverableProfile(): string {
  const profile = tempProfile('disc-carol-hidden');
  const store = openStore(join(profile, 'parley.db'));
  store.setSetting('settings', { discoverable: false });
  store.close();
  return profile;
}

describe('discoverable setting off', () => {
  it('Bob does not answer PEER_QUERY about Carol; Alice finds her through the registry instead', { timeout: 300_000 }, async () => {
    const b = await startRolePeer(suite.servers, 'bob', 'both');
    const c = await startRolePeer(suite.servers, 'carol', 'ws-only', { profile: undiscoverableProfile() });
    const a = await startRolePeer(suite.servers, 'alice', 'mqtt-only');
    running.push(a, b, c);
    const q = await HeadlessPeer.start({ profile: tempProfile('disc-quentin'), name: 'quentin', script: ATTACKER, ...reachArgs(suite.servers, 'mqtt-only'), env: DISCOVERY_ENV, readyTimeoutMs: PEER_READY_MS });
    running.push(q);
    await befriendSlowly(c, b);
    await befriendSlowly(a, b);
    await befriendSlowly(q, b);

    // Quentin, Bob's contact, asks where Carol is, then sends Bob a chat message on the same ordered
    // channel. Bob handles frames in order, so once the message is delivered any answer would be in.
    const requestId = randomBytes(16).toString('hex');
    await q.ok({ op: 'raw', to: b.userId, type: 'PEER_QUERY', body: { lookingFor: c.userId, requestId } });
    const { id } = await q.ok({ op: 'send', to: b.userId, text: 'after my question' });
    await eventually(() => messagesWith(b, q.userId), (ms) => ms.some((m) => m.id === id));
    await q.waitFor((l) => l.event === 'frame' && l.type === 'ACK', 60_000);
    expect(q.lines.filter((l) => l.event === 'frame' && l.type === 'PEER_FOUND')).toEqual([]);
    // Bob is connected to Carol all along: it is her setting, not a missing path, that kept him quiet.
    expect(((await b.ok({ op: 'peers' })).peers as { userId: string; state: string }[]).find((p) => p.userId === c.userId)?.state).toBe('CONNECTED');

    // Alice: her PEER_QUERY to Bob finds nothing, the registry (Carol's own signed announce) does.
    await addContact(a, c);
    await waitConnected(a, c.userId, 90_000);
    const trace = await connectedTrace(a, c.userId);
    expect(trace.winner).toBe('registry');
    expect(trace.route?.signalAddr).toBe((await signalAddrsOf(c))[0]);
    expect(trace.steps.find((s) => s.step === 'peers')?.outcome).not.toBe('found');
  });
});
