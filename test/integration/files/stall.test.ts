/**
 * A channel that stops draining is not left hanging (issue 9): the receiver process is frozen
 * (SIGSTOP) mid-transfer, so the sender's chunks earn no credit; the sender closes the stalled
 * channel (counted as `stalls`), and once the receiver runs again it asks for the rest on a fresh
 * channel and the file completes with its SHA-256 intact. The stall window is shortened through
 * PARLEY_FILE_STALL_MS so it fires long before ICE consent would drop the connection.
 */
import { describe, expect, it } from 'vitest';
import { befriend, eventually, HeadlessPeer } from '../../helpers/headless-peer';
import { fileEvent, randomFile, settled, sha256OfFile } from './support';
import { filePeers } from './peers';

const SIZE = 96 * 1024 * 1024;

describe('stalled file channel (real WebRTC, a frozen receiver)', () => {
  const { start, work } = filePeers('stall', {
    env: { PARLEY_FILE_STALL_MS: '3000' },
    // A frozen receiver must run again before it can quit.
    beforeQuit: (peers) => { for (const p of peers) if (p.pid) try { process.kill(p.pid, 'SIGCONT'); } catch { /* gone */ } },
  });
  const fileStats = async (p: HeadlessPeer) => (await p.ok({ op: 'stats' })).files as { stalls: number; channelsOpened: number };


  it('the sender closes the stalled channel and the transfer resumes on a new one', async () => {
    const alice = await start('alice');
    const bob = await start('bob');
    await befriend(alice, bob);
    const source = randomFile(work, 'stall.bin', SIZE);
    const id = String((await alice.ok({ op: 'file.send', to: bob.userId, path: source }, 120_000)).id);
    await fileEvent(bob, id, 'offered');
    await bob.ok({ op: 'file.accept', id });
    await bob.waitFor((l) => l.event === 'file' && l.id === id && l.state === 'progress' && Number(l.bytes) > 0, 120_000);
    expect((await fileStats(alice)).stalls).toBe(0);

    process.kill(bob.pid!, 'SIGSTOP');
    try {
      const stalled = await eventually(() => fileStats(alice), (s) => s.stalls >= 1, 60_000, 250);
      expect(stalled.stalls).toBeGreaterThanOrEqual(1);
    } finally {
      process.kill(bob.pid!, 'SIGCONT');
    }

    const done = await settled(bob, id, 300_000);
    expect(done.state).toBe('done');
    expect(await sha256OfFile(String(done.path))).toBe(await sha256OfFile(source));
    expect((await settled(alice, id, 60_000)).state).toBe('done');
    // The rest came on a fresh channel.
    expect((await fileStats(alice)).channelsOpened).toBeGreaterThanOrEqual(2);
  }, 600_000);
});
