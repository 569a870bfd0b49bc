/**
 * Interrupted transfers: kill -9 of either side mid-transfer, then a restart on the same profile;
 * the receiver asks for what it lacks and the transfer completes from the last verified chunk.
 * Also: content that no longer matches the signed offer fails with a reason and is never saved.
 */
import { copyFileSync, existsSync, openSync, readdirSync, statSync, truncateSync, utimesSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chunkCount } from '../../../src/main/host/files/hashing';
import { newBitmap, setBit } from '../../../src/main/host/files/ranges';
import { FILE_CHUNK_BYTES } from '../../../src/main/host/files/transfers';
import { openStore } from '../../../src/main/store';
import { befriend, eventually, HeadlessPeer, tempProfile } from '../../helpers/headless-peer';
import { fileEvent, randomFile, settled, sha256OfFile } from './support';
import { filePeers } from './peers';

const SIZE = 48 * 1024 * 1024;

describe('resumable file transfer (real WebRTC, real processes killed)', () => {
  const { start, work } = filePeers('resume');
  const fileStats = async (p: HeadlessPeer) => (await p.ok({ op: 'stats' })).files as { chunkBytesSent: number; chunkBytesReceived: number; chunksRechecked: number; chunksLostOnDisk: number; hashBytesStreamed: number; hashBytesReread: number };
  // Progress comes at a bounded rate: on a fast pair the reports jump far (CI saw 48% then done,
  // and once nothing between 40% and 75%), so the cut is the first report past 10% that is not
  // the end, and what is re-sent after it is compared with the cut.
  const halfway = async (p: HeadlessPeer, id: string): Promise<number> =>
    Number((await p.waitFor((l) => l.event === 'file' && l.id === id && l.state === 'progress' && Number(l.bytes) >= SIZE * 0.1 && Number(l.bytes) < SIZE, 120_000)).bytes);

  /** Alice sends Bob a file of SIZE; Bob accepts, and is killed with -9 at the first progress past 10%. */
  const receiverKilledMidway = async (name: string) => {
    const alice = await start('alice');
    const bobProfile = tempProfile('bob');
    const bob = await start('bob', bobProfile);
    await befriend(alice, bob);
    const source = randomFile(work, name, SIZE);
    const id = String((await alice.ok({ op: 'file.send', to: bob.userId, path: source }, 60_000)).id);
    await fileEvent(bob, id, 'offered');
    await bob.ok({ op: 'file.accept', id });
    const cut = await halfway(bob, id);
    await bob.kill('SIGKILL');
    return { alice, bobProfile, source, id, cut };
  };

  /** Bob restarted on his profile: the file ends done, whole, with the source's SHA-256. */
  const restartedReceiverDone = async (bobProfile: string, id: string, source: string): Promise<HeadlessPeer> => {
    const bob2 = await start('bob', bobProfile);
    const done = await settled(bob2, id);
    expect(done).toMatchObject({ state: 'done', size: SIZE, bytes: SIZE });
    expect(await sha256OfFile(String(done.path))).toBe(await sha256OfFile(source));
    return bob2;
  };

  it('receiver killed at about 50% and restarted: completes, re-sending far less than the whole file', async () => {
    const { alice, bobProfile, source, id, cut } = await receiverKilledMidway('movie.bin');

    const bob2 = await restartedReceiverDone(bobProfile, id, source);
    expect((await settled(alice, id)).state).toBe('done');

    const sent = (await fileStats(alice)).chunkBytesSent;
    const receivedAfterRestart = (await fileStats(bob2)).chunkBytesReceived;
    console.log(`receiver restart: sender sent ${(sent / SIZE).toFixed(2)}x the file; the restarted receiver got ${(receivedAfterRestart / SIZE).toFixed(2)}x`);
    expect(sent).toBeGreaterThanOrEqual(SIZE);
    expect(sent).toBeLessThan(2 * SIZE);
    // Resumed from its verified chunks, not from zero. The saved progress trails what was reported
    // by up to 250 ms or 2 MiB of chunks (transfers.ts, persist).
    expect(receivedAfterRestart).toBeLessThan(SIZE - cut / 4);
    expect(readdirSync(join(bobProfile, 'partial'))).toEqual([]);
    // The whole-file SHA-256 of the restarted receiver read back what it had before the kill and
    // took what came after as it was written: both paths, and every byte once.
    const hashed = await fileStats(bob2);
    expect(hashed.hashBytesReread).toBeGreaterThan(0);
    expect(hashed.hashBytesStreamed).toBeGreaterThan(0);
    expect(hashed.hashBytesReread + hashed.hashBytesStreamed).toBe(SIZE);
  });

  it('receiver killed, then part of what it had written is lost (a power cut): the restart finds it and fetches it again', async () => {
    const { bobProfile, source, id } = await receiverKilledMidway('photos.zip');
    // What the kernel had not written yet is gone: keep only the first chunk of the partial file.
    const partial = join(bobProfile, 'partial', `${id}.part`);
    expect(statSync(partial).size).toBeGreaterThan(64 * 1024);
    truncateSync(partial, 64 * 1024);

    // Before: the saved bitmap still vouched for the lost chunks, and the file failed its SHA-256.
    const bob2 = await restartedReceiverDone(bobProfile, id, source);
    const stats = await fileStats(bob2);
    expect(stats.chunksLostOnDisk).toBeGreaterThan(0);
    expect(stats.chunksRechecked).toBeGreaterThan(stats.chunksLostOnDisk);
  });

  it('receiver killed after its last chunk was saved but before done: the restart checks what it has and completes without asking for anything', async () => {
    const { alice, bobProfile, source, id } = await receiverKilledMidway('album.tar');
    // As if the kill came later: every chunk written and the saved bitmap vouching for all of them.
    copyFileSync(source, join(bobProfile, 'partial', `${id}.part`));
    const store = openStore(join(bobProfile, 'parley.db'));
    const count = chunkCount(SIZE, FILE_CHUNK_BYTES);
    const all = newBitmap(count);
    for (let seq = 0; seq < count; seq++) setBit(all, seq);
    store.updateTransfer(id, { verified: all, bytes: SIZE });
    store.close();

    const bob2 = await restartedReceiverDone(bobProfile, id, source);
    const stats = await fileStats(bob2);
    expect(stats.chunkBytesReceived).toBe(0);
    expect(stats.chunksRechecked).toBe(count);
    expect(stats.hashBytesReread).toBe(SIZE);
    expect((await settled(alice, id)).state).toBe('done');
  });

  it('sender killed at about 50% and restarted: the receiver asks for the rest and the file completes', async () => {
    const aliceProfile = tempProfile('alice');
    const alice = await start('alice', aliceProfile);
    const bob = await start('bob');
    await befriend(alice, bob);
    const source = randomFile(work, 'archive.tar', SIZE);
    const id = String((await alice.ok({ op: 'file.send', to: bob.userId, path: source }, 60_000)).id);
    await fileEvent(bob, id, 'offered');
    await bob.ok({ op: 'file.accept', id });
    const cut = await halfway(bob, id);
    await alice.kill('SIGKILL');

    const alice2 = await start('alice', aliceProfile);
    const done = await settled(bob, id);
    expect(done).toMatchObject({ state: 'done', bytes: SIZE });
    expect((await settled(alice2, id)).state).toBe('done');
    expect(await sha256OfFile(String(done.path))).toBe(await sha256OfFile(source));
    const received = (await fileStats(bob)).chunkBytesReceived;
    const sentAfterRestart = (await fileStats(alice2)).chunkBytesSent;
    console.log(`sender restart: receiver got ${(received / SIZE).toFixed(2)}x the file; the restarted sender sent ${(sentAfterRestart / SIZE).toFixed(2)}x`);
    expect(received).toBeLessThan(2 * SIZE);
    expect(sentAfterRestart).toBeLessThan(SIZE - cut / 2);
  });

  it('a file whose bytes changed after the offer fails at the first bad chunk, with a reason, and is never saved', async () => {
    const alice = await start('alice');
    const bob = await start('bob');
    await befriend(alice, bob);
    const source = randomFile(work, 'changed.bin', 8 * 1024 * 1024);
    const id = String((await alice.ok({ op: 'file.send', to: bob.userId, path: source }, 60_000)).id);
    await fileEvent(bob, id, 'offered');
    // Silent corruption at the sender (same size, same mtime): only the chunk digests can tell.
    const { atime, mtime } = statSync(source);
    const fd = openSync(source, 'r+');
    writeSync(fd, Buffer.from('corrupted!'), 0, 10, 5 * 1024 * 1024 + 17);
    closeSync(fd);
    utimesSync(source, atime, mtime);
    await bob.ok({ op: 'file.accept', id });
    const failed = await settled(bob, id);
    expect(failed.state).toBe('failed');
    expect(String(failed.reason)).toMatch(/Chunk 80 did not match the SHA-256 the sender signed/);
    expect((await settled(alice, id)).state).toBe('failed');
    expect(bob.lines.some((l) => l.event === 'file' && l.id === id && l.state === 'done')).toBe(false);
    expect(existsSync(join(bob.opts.profile, 'downloads'))).toBe(false);
    // The partial file is removed once its pending writes have settled.
    await eventually(async () => readdirSync(join(bob.opts.profile, 'partial')), (names) => names.length === 0, 30_000);
    const rejected = (await bob.ok({ op: 'stats' })).rejected as Record<string, number>;
    expect(rejected['file:FILE_HASH_MISMATCH']).toBe(1);
  });
});
