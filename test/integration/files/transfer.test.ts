import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { befriend, eventually, HeadlessPeer, tempProfile } from '../../helpers/headless-peer';
import { fileEvent, randomFile, settled, sha256OfFile } from './support';
import { filePeers } from './peers';

describe('file transfer between headless peers (real WebRTC)', () => {
  const { start, work, brokerUrl } = filePeers('files');


  it('sends 0 B, 1 KiB and 10 MiB files; the receiver gets identical bytes, and both sides see offered → progress → done', async () => {
    const alice = await start('alice');
    const bob = await start('bob');
    await befriend(alice, bob);
    for (const size of [0, 1024, 10 * 1024 * 1024]) {
      const source = randomFile(work, `sample-${size}.bin`, size);
      const { id } = await alice.ok({ op: 'file.send', to: bob.userId, path: source }, 60_000);
      expect(String(id)).toMatch(/^[0-9a-f]{32}$/);
      const offered = await fileEvent(bob, String(id), 'offered');
      expect(offered).toMatchObject({ peer: alice.userId, name: `sample-${size}.bin`, size, bytes: 0, direction: 'in' });
      await fileEvent(alice, String(id), 'offered');
      await bob.ok({ op: 'file.accept', id });
      const [got, sent] = await Promise.all([settled(bob, String(id)), settled(alice, String(id))]);
      expect(got).toMatchObject({ state: 'done', bytes: size, size });
      expect(sent).toMatchObject({ state: 'done', bytes: size, peer: bob.userId });
      const path = String(got.path);
      expect(dirname(path)).toBe(join(bob.opts.profile, 'downloads'));
      expect(await sha256OfFile(path)).toBe(await sha256OfFile(source));
    }
    // Progress events carry a rate, and there were some for the 10 MiB file on both sides.
    for (const p of [alice, bob]) {
      const progress = p.lines.filter((l) => l.event === 'file' && l.state === 'progress');
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.every((l) => typeof l.rate === 'number' && typeof l.bytes === 'number')).toBe(true);
    }
    // Nothing partial is left behind.
    expect(readdirSync(join(bob.opts.profile, 'partial'))).toEqual([]);
    // Chunks that arrive in order are hashed as they are written (whole-hash.ts), and written in
    // batches: the whole-file SHA-256 never read the files back, and writes carried several chunks.
    const st = (await bob.ok({ op: 'stats' })).files as { hashBytesStreamed: number; hashBytesReread: number; chunksWritten: number; writeCalls: number };
    expect(st).toMatchObject({ hashBytesStreamed: 1024 + 10 * 1024 * 1024, hashBytesReread: 0, chunksWritten: 161 });
    expect(st.writeCalls).toBeLessThan(161 / 4);
    const files = (await bob.ok({ op: 'files' })).files as { state: string }[];
    expect(files.map((f) => f.state)).toEqual(['done', 'done', 'done']);
  });

  it('a second file with the same name gets a numbered suffix; declining and cancelling end in failed with a reason on both sides', async () => {
    const alice = await start('alice');
    const bob = await start('bob');
    await befriend(alice, bob);
    const source = randomFile(work, 'report.pdf', 4096);
    const paths: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { id } = await alice.ok({ op: 'file.send', to: bob.userId, path: source });
      await fileEvent(bob, String(id), 'offered');
      await bob.ok({ op: 'file.accept', id });
      paths.push(String((await fileEvent(bob, String(id), 'done')).path));
    }
    expect(paths.map((p) => p.slice(dirname(p).length + 1))).toEqual(['report.pdf', 'report (1).pdf']);
    expect(await sha256OfFile(paths[1]!)).toBe(await sha256OfFile(source));

    const declined = String((await alice.ok({ op: 'file.send', to: bob.userId, path: source })).id);
    await fileEvent(bob, declined, 'offered');
    await bob.ok({ op: 'file.decline', id: declined });
    expect((await fileEvent(alice, declined, 'failed')).reason).toMatch(/declined/i);
    expect((await fileEvent(bob, declined, 'failed')).reason).toMatch(/declined/i);
    const again = await bob.request({ op: 'file.accept', id: declined });
    expect(again).toMatchObject({ ok: false, error: { code: 'NO_SUCH_OFFER' } });

    // The sender cancels an offer before it is answered; the receiver's accept then fails.
    const cancelled = String((await alice.ok({ op: 'file.send', to: bob.userId, path: source })).id);
    await fileEvent(bob, cancelled, 'offered');
    await alice.ok({ op: 'file.cancel', id: cancelled });
    expect((await fileEvent(bob, cancelled, 'failed')).reason).toMatch(/sender stopped/i);
    expect((await fileEvent(alice, cancelled, 'failed')).reason).toMatch(/cancelled/i);

    // The receiver cancels a transfer in progress.
    const big = randomFile(work, 'big.bin', 40 * 1024 * 1024);
    const mid = String((await alice.ok({ op: 'file.send', to: bob.userId, path: big }, 60_000)).id);
    await fileEvent(bob, mid, 'offered');
    await bob.ok({ op: 'file.accept', id: mid });
    await bob.waitFor((l) => l.event === 'file' && l.id === mid && l.state === 'progress' && Number(l.bytes) > 0, 120_000);
    await bob.ok({ op: 'file.cancel', id: mid });
    expect((await settled(alice, mid)).reason).toMatch(/recipient stopped/i);
    expect((await settled(bob, mid)).state).toBe('failed');
    // The partial file is removed once its pending writes have settled.
    await eventually(async () => existsSync(join(bob.opts.profile, 'partial', `${mid}.part`)), (exists) => !exists, 30_000);
    expect(readdirSync(join(bob.opts.profile, 'downloads')).sort()).toEqual(['report (1).pdf', 'report.pdf']);
  });

  it('chat messages sent during a 200 MiB transfer are delivered while it runs (latency ratio reported, not asserted)', async () => {
    const alice = await start('alice');
    const bob = await start('bob');
    await befriend(alice, bob);
    const roundTrip = async (text: string): Promise<number> => {
      const t0 = performance.now();
      const { id } = await alice.ok({ op: 'send', to: bob.userId, text });
      await alice.waitFor((l) => l.event === 'status' && l.id === id && l.status === 'delivered', 60_000);
      return performance.now() - t0;
    };
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const idle: number[] = [];
    for (let i = 0; i < 10; i++) idle.push(await roundTrip(`idle ${i}`));
    const source = randomFile(work, 'during.bin', 200 * 1024 * 1024);
    const id = String((await alice.ok({ op: 'file.send', to: bob.userId, path: source }, 180_000)).id);
    await fileEvent(bob, id, 'offered');
    await bob.ok({ op: 'file.accept', id });
    await bob.waitFor((l) => l.event === 'file' && l.id === id && l.state === 'progress' && Number(l.bytes) > 0, 60_000);
    const busy: number[] = [];
    let duringTransfer = 0;
    for (let i = 0; i < 10; i++) {
      busy.push(await roundTrip(`busy ${i}`));
      if (!bob.lines.some((l) => l.event === 'file' && l.id === id && l.state === 'done')) duringTransfer++;
    }
    const done = await settled(bob, id, 480_000);
    expect(done.state).toBe('done');
    expect(await sha256OfFile(String(done.path))).toBe(await sha256OfFile(source));
    console.log(`chat round trip (send → delivered): idle median ${median(idle).toFixed(1)} ms, during a transfer ${median(busy).toFixed(1)} ms, ratio ${(median(busy) / median(idle)).toFixed(2)}; ${duringTransfer}/10 acknowledged before the file finished`);
    // Chat did not wait for the file: messages were acknowledged while it was still moving.
    expect(duringTransfer).toBeGreaterThan(0);
    expect(busy).toHaveLength(10);
  }, 600_000);

  it('--downloads and --max-file-bytes set the folder and the cap for the run: a larger offer is declined with the reason, a smaller one lands there', async () => {
    const folder = join(work, 'flag-downloads');
    const alice = await start('alice');
    const bob = await start('bob', undefined, ['--downloads', folder, '--max-file-bytes', String(2 * 1024 * 1024)]);
    await befriend(alice, bob);
    const big = randomFile(work, 'too-big.bin', 2 * 1024 * 1024 + 1);
    const refused = String((await alice.ok({ op: 'file.send', to: bob.userId, path: big }, 60_000)).id);
    expect((await fileEvent(bob, refused, 'failed')).reason).toMatch(/over your limit of 2\.0 MiB/);
    expect((await fileEvent(alice, refused, 'failed')).reason).toMatch(/over the receiver's limit/);
    const fits = randomFile(work, 'fits.bin', 2 * 1024 * 1024);
    const id = String((await alice.ok({ op: 'file.send', to: bob.userId, path: fits }, 60_000)).id);
    await fileEvent(bob, id, 'offered');
    await bob.ok({ op: 'file.accept', id });
    const done = await settled(bob, id);
    expect(done).toMatchObject({ state: 'done', path: join(folder, 'fits.bin') });
    expect(await sha256OfFile(String(done.path))).toBe(await sha256OfFile(fits));
    // A bad value stops the start with a reason.
    const bad = await HeadlessPeer.start({ profile: tempProfile('bad'), name: 'bad', broker: brokerUrl(), extraArgs: ['--downloads', folder, '--max-file-bytes', '0'] }).catch((e: Error) => e);
    expect(String(bad)).toMatch(/--max-file-bytes/);
  });

  it('file.send to a missing path or a non-contact answers with an error that says what to do', async () => {
    const alice = await start('alice');
    const missing = await alice.request({ op: 'file.send', to: 'a'.repeat(64), path: join(work, 'nope.bin') });
    expect(missing).toMatchObject({ ok: false, error: { code: 'NOT_A_CONTACT' } });
  });
});
