/**
 * Hostile file-transfer input, from the attacker's side: the attacker is a real host whose mesh
 * (@roamhq/wrtc) we hold, so it can sign whatever envelopes it likes and open file channels with
 * any label; the victim is a real `parley peer` process. Every attack must be refused and counted,
 * nothing may be written outside the victim's downloads folder, and chat must keep working.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../src/main/crypto/node-signer';
import { digestFile } from '../../../src/main/host/files/hashing';
import { encodeHashes, header, MSG_CHUNK, channelLabel } from '../../../src/main/host/files/wire';
import { startHost, type HostApi } from '../../../src/main/host/host';
import { loadOrCreateIdentity } from '../../../src/main/host/keystore';
import { nodeMeshFactory } from '../../../src/main/host/node-mesh';
import type { Mesh } from '../../../src/renderer/mesh';
import { wrapDataChannel, type FileChannel } from '../../../src/renderer/mesh/file-channel';
import { encodeEnvelope, signEnvelope } from '../../../src/shared/envelope';
import type { Identity } from '../../../src/shared/identity';
import { randomId } from '../../../src/shared/ids';
import { MOSQUITTO_URL } from '../../helpers/brokers';
import { eventually, HeadlessPeer, tempProfile, waitConnected } from '../../helpers/headless-peer';
import { fileEvent, makePng, randomFile } from './support';

const CHUNK = 64 * 1024;

describe('hostile file transfers against a real peer process', () => {
  let attacker: HostApi;
  let attackerId: Identity;
  let mesh: Mesh;
  let victim: HeadlessPeer;
  const work = mkdtempSync(join(tmpdir(), 'parley-hostile-files-'));
  let sample: string;
  let digests: Awaited<ReturnType<typeof digestFile>>;

  beforeAll(async () => {
    const profile = tempProfile('attacker');
    attacker = await startHost({
      profileDir: profile, name: 'mallory', brokerUrl: MOSQUITTO_URL,
      meshFactory: (s, self, ice) => (mesh = nodeMeshFactory(s, self, ice) as Mesh),
    });
    attackerId = loadOrCreateIdentity(profile).identity;
    victim = await HeadlessPeer.start({ profile: tempProfile('victim'), name: 'victim', broker: MOSQUITTO_URL });
    await victim.signalingUp();
    await eventually(() => attacker.handle('status', {}), (s) => s.signaling === 'connected');
    await attacker.handle('contacts.add', { userId: victim.userId });
    await victim.waitFor((l) => l.event === 'contactRequest' && l.userId === attacker.userId);
    await victim.ok({ op: 'contact.accept', userId: attacker.userId });
    await waitConnected(victim, attacker.userId);
    await eventually(async () => mesh.state(victim.userId), (s) => s === 'CONNECTED');
    sample = randomFile(work, 'sample.bin', 3 * CHUNK + 100);
    digests = await digestFile(sample, CHUNK);
  });
  afterAll(async () => {
    await victim?.quit();
    await attacker?.close();
  });

  const send = (type: string, body: unknown): void => {
    if (!mesh.send(victim.userId, encodeEnvelope(signEnvelope({ type, to: victim.userId, body }, attackerId, nodeSigner)))) throw new Error('channel closed');
  };
  const offer = (over: Record<string, unknown> = {}): string => {
    const fileId = randomId();
    send('FILE_OFFER', { fileId, name: 'sample.bin', size: digests.size, sha256: digests.sha256, chunkSize: CHUNK, chunksSha256: digests.chunksSha256, ...over });
    return fileId;
  };
  const offeredAndAccepted = async (over: Record<string, unknown> = {}): Promise<string> => {
    const id = offer(over);
    await fileEvent(victim, id, 'offered', 30_000);
    await victim.ok({ op: 'file.accept', id });
    return id;
  };
  /**
   * A file channel to the victim. For an accepted transfer, wait for the victim's first "written"
   * before attacking, as a real sender does (transfers.ts): @roamhq/wrtc drops bytes that arrive
   * before the receiver has taken the channel, and CI saw attacks lost that way.
   */
  const channel = async (fileId: string, { accepted = true } = {}): Promise<FileChannel> => {
    const ch = wrapDataChannel(mesh.openChannel(victim.userId, channelLabel(fileId))!, { drain: 'poll' });
    const written = accepted ? new Promise<void>((resolve) => ch.onMessage(() => resolve())) : Promise.resolve();
    expect(await ch.opened()).toBe(true);
    await written;
    return ch;
  };
  /** Chunks on a channel the victim refuses: resent until counted, since early bytes may be dropped (see channel()). */
  const refusedUntilCounted = async (ch: FileChannel, before: number): Promise<void> => {
    await eventually(async () => { ch.send(chunk(0, new Uint8Array(CHUNK))); return count('FILE_UNKNOWN'); }, (n) => n >= before + 2);
  };
  const chunk = (seq: number, data: Uint8Array): Buffer => {
    const f = header(MSG_CHUNK, seq, data.length);
    f.set(data, 5);
    return f;
  };
  /** The sample file's true chunks, in the order given (by default all of them, in order). */
  const sendSample = (ch: FileChannel, seqs = Array.from({ length: Math.ceil(digests.size / CHUNK) }, (_, i) => i)): void => {
    const data = readFileSync(sample);
    for (const seq of seqs) ch.send(chunk(seq, data.subarray(seq * CHUNK, (seq + 1) * CHUNK)));
  };
  const rejected = async (): Promise<Record<string, number>> => (await victim.ok({ op: 'stats' })).rejected as Record<string, number>;
  const count = async (code: string): Promise<number> => (await rejected())[`file:${code}`] ?? 0;
  const failedWith = async (id: string, re: RegExp): Promise<void> => {
    const failed = await fileEvent(victim, id, 'failed', 30_000);
    expect(String(failed.reason)).toMatch(re);
  };
  const chatStillWorks = async (): Promise<void> => {
    const { id } = await attacker.handle('messages.send', { to: victim.userId, text: `still here ${randomId()}` });
    await victim.waitFor((l) => l.event === 'message' && l.id === id, 30_000);
  };

  it('a chunk for an unknown fileId is refused and counted', async () => {
    const before = await count('FILE_UNKNOWN');
    const ch = await channel(randomId(), { accepted: false });
    await refusedUntilCounted(ch, before);
    await chatStillWorks();
  });

  it('an out-of-range seq and an oversize chunk are refused, counted, and fail the transfer', async () => {
    const a = await offeredAndAccepted();
    const chA = await channel(a);
    chA.send(encodeHashes(0, digests.chunkHashes));
    chA.send(chunk(4, new Uint8Array(100)));
    await failedWith(a, /outside the file \(seq 4\)/);
    expect(await count('FILE_BAD_CHUNK')).toBeGreaterThanOrEqual(1);

    const b = await offeredAndAccepted();
    const chB = await channel(b);
    chB.send(encodeHashes(0, digests.chunkHashes));
    chB.send(chunk(0, new Uint8Array(CHUNK + 1000)));
    await failedWith(b, /wrong size/);
    expect(await count('OVERSIZE')).toBeGreaterThanOrEqual(1);
    await chatStillWorks();
  });

  it('a FILE_DONE naming another SHA-256 than the offer is refused, counted, and the file never completes', async () => {
    const before = await count('FILE_HASH_MISMATCH');
    const id = await offeredAndAccepted();
    send('FILE_DONE', { fileId: id, chunks: 4, sha256: 'ab'.repeat(32) });
    await failedWith(id, /different SHA-256/);
    expect(await count('FILE_HASH_MISMATCH')).toBe(before + 1);
    expect(victim.lines.some((l) => l.event === 'file' && l.id === id && l.state === 'done')).toBe(false);
  });

  it('every chunk matches its signed digest but the whole file does not match the offer\'s SHA-256: refused, counted, never done', async () => {
    // The whole-file hash runs off the event loop (whole-hash.ts): it must still decide.
    const before = await count('FILE_HASH_MISMATCH');
    const id = await offeredAndAccepted({ name: 'liar.bin', sha256: 'cd'.repeat(32) });
    const ch = await channel(id);
    ch.send(encodeHashes(0, digests.chunkHashes));
    // Out of order, as after a resume: the last chunk first.
    sendSample(ch, [3, 0, 1, 2]);
    await failedWith(id, /SHA-256 does not match the offer/);
    expect(await count('FILE_HASH_MISMATCH')).toBe(before + 1);
    expect(victim.lines.some((l) => l.event === 'file' && l.id === id && l.state === 'done')).toBe(false);
    const downloads = join(victim.opts.profile, 'downloads');
    expect(existsSync(downloads) ? readdirSync(downloads).filter((n) => n.startsWith('liar')) : []).toEqual([]);
    await chatStillWorks();
  });

  it('the same lie in order: the running whole-file hash (never reading the file back) refuses it too', async () => {
    // In order, the receiver's whole-file SHA-256 takes each run of chunks as it is written
    // (whole-hash.ts) instead of reading the partial file back: that path must decide as well.
    const before = await count('FILE_HASH_MISMATCH');
    const files = async () => (await victim.ok({ op: 'stats' })).files as { hashBytesStreamed: number; hashBytesReread: number };
    const hashed = await files();
    const id = await offeredAndAccepted({ name: 'liar-in-order.bin', sha256: 'ef'.repeat(32) });
    const ch = await channel(id);
    ch.send(encodeHashes(0, digests.chunkHashes));
    sendSample(ch);
    await failedWith(id, /SHA-256 does not match the offer/);
    expect(await count('FILE_HASH_MISMATCH')).toBe(before + 1);
    expect(victim.lines.some((l) => l.event === 'file' && l.id === id && l.state === 'done')).toBe(false);
    const after = await files();
    expect(after.hashBytesStreamed - hashed.hashBytesStreamed).toBe(digests.size);
    expect(after.hashBytesReread).toBe(hashed.hashBytesReread);
    await chatStillWorks();
  });

  it('names with ../ or a reserved device name are refused (counted) and replaced; the bytes land only in downloads', async () => {
    const before = await count('FILE_BAD_NAME');
    for (const [name, safe] of [['../../../../tmp/evil.sh', 'evil.sh'], ['CON.txt', '_CON.txt']] as const) {
      const id = offer({ name });
      const offered = await fileEvent(victim, id, 'offered', 30_000);
      expect(offered.name).toBe(safe);
      await victim.ok({ op: 'file.accept', id });
      const ch = await channel(id);
      ch.send(encodeHashes(0, digests.chunkHashes));
      sendSample(ch);
      const done = await fileEvent(victim, id, 'done', 30_000);
      expect(done.path).toBe(join(victim.opts.profile, 'downloads', safe));
    }
    expect(await count('FILE_BAD_NAME')).toBe(before + 2);
    expect(existsSync('/tmp/evil.sh')).toBe(false);
    expect(readdirSync(join(victim.opts.profile, 'downloads')).sort()).toEqual(['_CON.txt', 'evil.sh']);
  });

  it('chunks sent for a declined offer are refused and counted, and nothing is written', async () => {
    const id = offer({ name: 'declined.bin' });
    await fileEvent(victim, id, 'offered', 30_000);
    await victim.ok({ op: 'file.decline', id });
    const before = await count('FILE_UNKNOWN');
    const ch = await channel(id, { accepted: false });
    ch.send(encodeHashes(0, digests.chunkHashes));
    await refusedUntilCounted(ch, before);
    expect(existsSync(join(victim.opts.profile, 'partial', `${id}.part`))).toBe(false);
    expect(readdirSync(join(victim.opts.profile, 'downloads'))).not.toContain('declined.bin');
  });

  it('an offer over the size cap is declined automatically, counted, and the user is told why', async () => {
    const before = await count('FILE_REFUSED');
    const id = offer({ name: 'huge.iso', size: 5 * 1024 ** 3 });
    const failed = await fileEvent(victim, id, 'failed', 30_000);
    expect(String(failed.reason)).toMatch(/over your limit of 4\.0 GiB/);
    expect(await count('FILE_REFUSED')).toBe(before + 1);
    const files = (await victim.ok({ op: 'files' })).files as { id: string }[];
    expect(files.some((f) => f.id === id)).toBe(false);
  });

  it('an offer whose thumbnail is not a small raster image by its bytes stands without it, counted; one over the schema cap is refused whole', async () => {
    const before = await count('FILE_BAD_THUMB');
    const good = makePng(8, 8);
    const cases = [
      { what: 'SVG', thumb: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'), shown: false },
      { what: 'HTML', thumb: Buffer.from('<html><script>alert(1)</script></html>'), shown: false },
      { what: 'one byte over 16 KiB', thumb: Buffer.concat([good, Buffer.alloc(16 * 1024 + 1 - good.length)]), shown: false },
      { what: 'a PNG', thumb: good, shown: true },
    ];
    for (const c of cases) {
      const id = offer({ name: 'picture.png', mime: 'image/png', thumb: c.thumb.toString('base64') });
      const o = await fileEvent(victim, id, 'offered', 30_000);
      expect(o.thumb, c.what).toBe(c.shown ? `data:image/png;base64,${c.thumb.toString('base64')}` : undefined);
      await victim.ok({ op: 'file.decline', id });
    }
    expect(await count('FILE_BAD_THUMB')).toBe(before + 3);
    // Past what the signed offer's schema allows: the offer itself is refused and counted.
    const total = async (): Promise<number> => Object.values(await rejected()).reduce((a, b) => a + b, 0);
    const totalBefore = await total();
    const id = offer({ name: 'big-thumb.png', thumb: Buffer.concat([good, Buffer.alloc(20 * 1024)]).toString('base64') });
    await eventually(total, (n) => n > totalBefore);
    await chatStillWorks();
    expect(victim.lines.some((l) => l.event === 'file' && l.id === id)).toBe(false);
  });

  it('a flood of offers is capped per peer: state stays bounded, the rest are refused and counted, chat still works', async () => {
    const open = (await victim.ok({ op: 'files' })).files as { state: string }[];
    const openBefore = open.filter((f) => f.state === 'offered' || f.state === 'progress').length;
    const before = await count('FILE_REFUSED');
    const rssBefore = Number(execFileSync('ps', ['-o', 'rss=', '-p', String(victim.pid)]).toString().trim());
    for (let i = 0; i < 300; i++) offer({ name: `flood-${i}.bin` });
    await eventually(() => count('FILE_REFUSED'), (n) => n >= before + 300 - (8 - openBefore), 60_000);
    const files = (await victim.ok({ op: 'files' })).files as { state: string }[];
    expect(files.filter((f) => f.state === 'offered' || f.state === 'progress')).toHaveLength(8);
    const rssAfter = Number(execFileSync('ps', ['-o', 'rss=', '-p', String(victim.pid)]).toString().trim());
    expect(rssAfter - rssBefore).toBeLessThan(64 * 1024); // KiB
    await chatStillWorks();
  });

  it('after every attack above: no partial file is left, downloads holds only the two files completed on purpose, and chat works', async () => {
    await eventually(async () => readdirSync(join(victim.opts.profile, 'partial')), (names) => names.length === 0, 30_000);
    expect(readdirSync(join(victim.opts.profile, 'downloads')).sort()).toEqual(['_CON.txt', 'evil.sh']);
    expect(readdirSync(victim.opts.profile).filter((n) => /sample|evil|CON|huge|declined|flood/i.test(n))).toEqual([]);
    const counted = await rejected();
    for (const code of ['FILE_UNKNOWN', 'FILE_BAD_CHUNK', 'OVERSIZE', 'FILE_HASH_MISMATCH', 'FILE_BAD_NAME', 'FILE_REFUSED', 'FILE_BAD_THUMB']) {
      expect(counted[`file:${code}`] ?? 0, code).toBeGreaterThan(0);
    }
    await chatStillWorks();
  });
});

describe.skipIf(process.getuid?.() !== 0)('free-disk check (a real 64 MiB tmpfs profile)', () => {
  it('an offer larger than the free space is declined automatically with a reason', async () => {
    const mnt = mkdtempSync(join(tmpdir(), 'parley-tmpfs-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', mnt]);
    const peers: HeadlessPeer[] = [];
    try {
      const profile = join(mnt, 'victim');
      mkdirSync(profile);
      const victim = await HeadlessPeer.start({ profile, name: 'small-disk', broker: MOSQUITTO_URL });
      const sender = await HeadlessPeer.start({ profile: tempProfile('sender'), name: 'sender', broker: MOSQUITTO_URL });
      peers.push(victim, sender);
      const { befriend } = await import('../../helpers/headless-peer');
      await befriend(sender, victim);
      const big = join(mkdtempSync(join(tmpdir(), 'parley-big-')), 'big.bin');
      writeFileSync(big, Buffer.alloc(0));
      execFileSync('truncate', ['-s', '200M', big]); // sparse: 200 MiB of zeros, nothing on disk
      const { id } = await sender.ok({ op: 'file.send', to: victim.userId, path: big }, 60_000);
      const failed = await fileEvent(victim, String(id), 'failed', 30_000);
      expect(String(failed.reason)).toMatch(/not enough free disk space/);
      expect(String((await fileEvent(sender, String(id), 'failed', 30_000)).reason)).toMatch(/disk space/);
      const rejectedStats = (await victim.ok({ op: 'stats' })).rejected as Record<string, number>;
      expect(rejectedStats['file:FILE_REFUSED']).toBe(1);
    } finally {
      await Promise.all(peers.map((p) => p.quit()));
      execFileSync('umount', [mnt]);
    }
  });
});
