/**
 * File transfers (issue 9, DESIGN section 4): signed FILE_OFFER / FILE_ACCEPT / FILE_CANCEL /
 * FILE_DONE envelopes on the peer's message channel; the bytes on a data channel of their own per
 * transfer (wire.ts), flow-controlled twice: by bufferedAmount watermarks on the sender's channel,
 * and by the receiver's WRITTEN credit, so a receiver whose disk is slower than the network never
 * queues more than WINDOW_CHUNKS in memory.
 *
 * Integrity: the signed offer binds the file's SHA-256 and the SHA-256 of its per-chunk digest
 * list. The list travels first on the channel and is checked against the offer; each chunk is then
 * checked against its digest before it is written and marked verified (a bitmap persisted in
 * SQLite), and the whole file's SHA-256 is checked once more before the file is moved into the
 * downloads folder. A bad chunk fails the transfer with a reason; it is never shown complete.
 *
 * Resume: the receiver drives it. Whenever the peer's connection opens (after a drop, or a restart
 * of either side) it sends FILE_ACCEPT with the chunk ranges it still lacks, and the sender opens
 * a fresh channel and sends only those.
 */
import { statfsSync, mkdirSync, unlinkSync, existsSync, realpathSync, statSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import type { FileInfo } from '../../../shared/api';
import type { Signer } from '../../../shared/crypto';
import { encodeEnvelope, signEnvelope, type Envelope } from '../../../shared/envelope';
import type { RejectCode, RejectCounter } from '../../../shared/errors';
import type { Identity } from '../../../shared/identity';
import { randomId } from '../../../shared/ids';
import {
  MAX_FILE_BYTES, MAX_FILE_RANGES, type DataChannelBodies,
} from '../../../shared/schemas/datachannel';
import type { FileChannel } from '../../../renderer/mesh/file-channel';
import type { FileTransferRow, Store } from '../../store/types';
import type { FileChannels } from './channels';
import { readFully, writeFully } from './block-io';
import { chunkCount, chunkLength, chunkMatches, digestFile, DIGEST_BYTES, hashFile, sha256Hex } from './hashing';
import { WholeFileHasher } from './whole-hash';
import { guessMime } from './mime';
import { checkThumbBase64, ownThumb, thumbDataUrl } from './thumbnails';
import { moveIntoFolder, sanitizeFileName } from './names';
import { chunksIn, countBits, hasBit, missingRanges, newBitmap, rangesValid, setBit } from './ranges';
import { recheckVerified } from './recheck';
import { formatBytes } from '../../../shared/format-bytes';
import {
  channelLabel, decodeWire, encodeHashes, encodeWritten, fileIdOfLabel, header, HASHES_PER_MESSAGE, HEADER_BYTES, MSG_CHUNK,
} from './wire';

export const FILE_CHUNK_BYTES = 64 * 1024;
/** Incoming offers not yet finished, per peer and in all: a hostile peer cannot grow state without bound. */
export const MAX_OPEN_INCOMING_PER_PEER = 8;
export const MAX_OPEN_INCOMING = 32;
const KEEP_FINISHED_PER_PEER = 200;
/** Chunks the sender may have in flight beyond what the receiver reported written (8 MiB). */
export const WINDOW_CHUNKS = 128;
/** The receiver grants credit every this many chunks (each WRITTEN is a synchronous send in wrtc). */
const WRITTEN_EVERY = 32;
/** Chunks per vectored read at the sender and at most per vectored write at the receiver (1 MiB). */
const READ_BLOCK_CHUNKS = 16;
const WRITE_BATCH_CHUNKS = 32;
/**
 * The receiver writes once WRITE_MIN_CHUNKS verified chunks (1 MiB) are queued, or WRITE_WAIT_MS
 * after the first of fewer: starting a write per chunk as it came made most writes one 64 KiB chunk,
 * each a thread-pool round trip and a syscall. Well inside the sender's window (WINDOW_CHUNKS).
 */
const WRITE_MIN_CHUNKS = 16;
const WRITE_WAIT_MS = 20;
const PROGRESS_EVERY_MS = 250;
const PERSIST_EVERY_MS = 250;
/** Also persist after this many new bytes, so a fast transfer cut early resends at most this much. */
const PERSIST_EVERY_BYTES = 2 * 1024 * 1024;
const DISK_MARGIN_BYTES = 64 * 1024 * 1024;
/**
 * The receiver starts an fdatasync of the partial file every this many written bytes, and waits
 * for none of them: the kernel then writes the file out while the transfer goes on, instead of
 * the whole of it (the page cache holds gigabytes) in the fdatasync before `done`.
 */
const FLUSH_BEHIND_BYTES = 16 * 1024 * 1024;
const RESUME_AFTER_CHANNEL_LOSS_MS = 2000;
/**
 * A sender whose transfer makes no progress for this long while the peer is connected treats it as
 * stalled: chunks in flight that earn no credit, a channel that never opens, a receiver that never
 * says it is listening (WRITTEN 0) or never asks again after a stall, or a receipt (FILE_DONE) that
 * never comes. It closes the channel (the receiver asks for what it lacks on a fresh one) or, with
 * no channel left, repeats its offer, which the receiver answers with what it lacks or its receipt.
 * After MAX_STALLS stalls in a row without any credit the transfer fails with a reason instead of
 * hanging. While the peer is not connected the clock stands still: resume waits for a path.
 * PARLEY_FILE_STALL_MS shortens it for tests.
 */
export const STALL_MS = Number(process.env.PARLEY_FILE_STALL_MS) > 0 ? Number(process.env.PARLEY_FILE_STALL_MS) : 30_000;
export const MAX_STALLS = 3;

export type FileEnvelopeType = 'FILE_OFFER' | 'FILE_ACCEPT' | 'FILE_CANCEL' | 'FILE_DONE';
export const FILE_ENVELOPE_TYPES: readonly string[] = ['FILE_OFFER', 'FILE_ACCEPT', 'FILE_CANCEL', 'FILE_DONE'];

export interface FileSettings { downloadsDir: string; maxFileBytes: number }

export interface FileTransfersDeps {
  store: Store;
  identity: Identity;
  signer: Signer;
  rejects: RejectCounter;
  /** Null where this process has no data channels of its own to offer (then file.send says so). */
  channels: FileChannels | null;
  /** Sends one encoded envelope on the peer's message channel; false if it is not open. */
  sendFrame(peer: string, frame: string): boolean;
  isContact(userId: string): boolean;
  isConnected(userId: string): boolean;
  settings(): FileSettings;
  /** Where partial downloads live (in the profile). */
  partialDir: string;
  onEvent(info: FileInfo): void;
  freeBytes?: (dir: string) => number;
}

export interface FileStats {
  chunkBytesSent: number;
  chunkBytesReceived: number;
  chunksWritten: number;
  /** Vectored writes the receiver made for them (chunksWritten / writeCalls: chunks per write). */
  writeCalls: number;
  /** After restarts: claimed chunks read back and checked, and those of them that no longer matched (lost on disk). */
  chunksRechecked: number;
  chunksLostOnDisk: number;
  channelsOpened: number;
  done: number;
  failed: number;
  /** Channels the sender closed because they stopped taking data (STALL_MS without credit). */
  stalls: number;
  /** Time the sender's pumps spent waiting: for the channel's buffer to drain, for the receiver's credit (ms). */
  waitRoomMs: number;
  waitCreditMs: number;
  /**
   * Time the receiver spent completing files after their last chunk was written (ms): in the
   * final fdatasync, and waiting for the whole file's SHA-256. Both are on a transfer's critical
   * path: `done` waits for them.
   */
  finishSyncMs: number;
  finishHashMs: number;
  /** Bytes of received files whose whole-file SHA-256 took them as they were written, and bytes it had to read back from disk. */
  hashBytesStreamed: number;
  hashBytesReread: number;
}

interface Block { first: number; end: number }

/** The requested chunk ranges cut into blocks of at most `n` consecutive chunks. */
function blocksOf(ranges: readonly (readonly [number, number])[], n: number): Block[] {
  const out: Block[] = [];
  for (const [start, end] of ranges) for (let first = start; first < end; first += n) out.push({ first, end: Math.min(end, first + n) });
  return out;
}

export class FileTransferError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

interface Live {
  row: FileTransferRow;
  count: number;
  channel: FileChannel | null;
  lastEmitAt: number;
  lastEmitBytes: number;
  // sender
  pumpGen: number;
  channelWritten: number;
  creditWaiter: (() => void) | null;
  /** Stalls in a row, reset by any credit. */
  stalls: number;
  /** Chunks sent on the current channel, and whether its pump has sent all it was asked for. */
  channelSent: number;
  pumpDone: boolean;
  /** Last sign of life of an outgoing transfer (credit, an answer, a channel), for the watchdog. */
  activityAt: number;
  watchdog: ReturnType<typeof setInterval> | null;
  // receiver
  fd: FileHandle | null;
  hashes: Buffer | null;
  hashBuf: Buffer | null;
  hashesGot: number;
  bits: Buffer | null;
  verifiedCount: number;
  /** Verified chunks waiting for the disk, in arrival order, with the channel each came on. */
  queue: { seq: number; bytes: Uint8Array; ch: FileChannel }[];
  writing: boolean;
  writes: Promise<void>;
  /** Set while fewer than WRITE_MIN_CHUNKS chunks wait: writes them anyway when it fires. */
  writeTimer: ReturnType<typeof setTimeout> | null;
  /** Bytes written since the last flush-behind fdatasync started, and whether one is running. */
  unsynced: number;
  flushing: boolean;
  channelReported: number;
  /** After a restart: the saved bitmap is being checked against the partial file (recheck.ts). */
  recheck: Promise<void> | null;
  /** Chunks 0..prefix-1 are all verified and written: the whole-file hash may read that far from disk. */
  prefix: number;
  lastPersistAt: number;
  bytesAtPersist: number;
  completing: boolean;
  resumeTimer: ReturnType<typeof setTimeout> | null;
}

export class FileTransfers {
  private readonly live = new Map<string, Live>();
  private readonly counters: FileStats = { chunkBytesSent: 0, chunkBytesReceived: 0, chunksWritten: 0, writeCalls: 0, chunksRechecked: 0, chunksLostOnDisk: 0, channelsOpened: 0, done: 0, failed: 0, stalls: 0, waitRoomMs: 0, waitCreditMs: 0, finishSyncMs: 0, finishHashMs: 0, hashBytesStreamed: 0, hashBytesReread: 0 };
  private closed = false;
  private readonly hasher = new WholeFileHasher();

  constructor(private readonly deps: FileTransfersDeps) {}

  get available(): boolean {
    return this.deps.channels !== null;
  }

  start(): void {
    for (const row of this.deps.store.unfinishedTransfers()) {
      const l = this.makeLive(row);
      this.live.set(row.id, l);
      if (row.direction === 'in' && row.state === 'transferring' && l.bits) l.recheck = this.recheck(l);
      // Its receiver may never ask again (say, its receipt was lost while we were down).
      if (row.direction === 'out' && row.state === 'transferring') this.watchSender(l);
    }
    this.deps.channels?.onChannel((peer, ch) => this.onChannel(peer, ch));
  }

  stats(): FileStats {
    const c = this.counters;
    return { ...c, waitRoomMs: Math.round(c.waitRoomMs), waitCreditMs: Math.round(c.waitCreditMs), finishSyncMs: Math.round(c.finishSyncMs), finishHashMs: Math.round(c.finishHashMs) };
  }

  list(peer?: string, limit?: number): FileInfo[] {
    return this.deps.store.listTransfers(peer, limit).map((r) => this.info(this.live.get(r.id) ?? this.makeLive(r), true));
  }

  /** The peer's message channel opened: re-offer what is unanswered, ask for what is missing. */
  onPeerOpen(peer: string): void {
    for (const l of this.live.values()) {
      if (l.row.peer !== peer) continue;
      if (l.row.direction === 'out' && l.row.state === 'offered') this.sendOffer(l);
      if (l.row.direction === 'in' && l.row.state === 'transferring') this.requestMissing(l);
    }
  }

  // ── local calls ────────────────────────────────────────────────────────────────────────

  /** `thumb`: base64 of a preview the UI made of an image; checked here, dropped (and counted) if it is not one. */
  async send(to: string, path: string, thumb?: string): Promise<string> {
    if (!this.deps.channels) throw new FileTransferError('FILES_UNAVAILABLE', 'File transfer is not available in this window yet; use the desktop app or a headless peer.');
    if (!this.deps.isContact(to)) throw new FileTransferError('NOT_A_CONTACT', 'You can only send files to accepted contacts.');
    const source = resolve(path);
    let info;
    try {
      info = await stat(source);
    } catch {
      throw new FileTransferError('FILE_NOT_FOUND', `There is no file at ${source}.`);
    }
    if (!info.isFile()) throw new FileTransferError('NOT_A_FILE', `${source} is not a regular file.`);
    if (info.size > MAX_FILE_BYTES) throw new FileTransferError('FILE_TOO_LARGE', `Files of up to ${MAX_FILE_BYTES / 1024 ** 3} GiB can be sent.`);
    const digests = await digestFile(source, FILE_CHUNK_BYTES);
    const name = sanitizeFileName(basename(source)).name;
    let thumbBytes: Buffer | null = null;
    if (thumb !== undefined) {
      const checked = checkThumbBase64(thumb);
      if (checked.ok) thumbBytes = checked.bytes;
      else this.reject('FILE_BAD_THUMB', `thumbnail for ${name.slice(0, 60)} from the UI: ${checked.reason}`);
    } else {
      thumbBytes = await ownThumb(source, digests.size).catch(() => null);
    }
    const row: Omit<FileTransferRow, 'createdAt' | 'updatedAt'> = {
      id: randomId(), peer: to, direction: 'out', name, mime: guessMime(name), size: digests.size, sha256: digests.sha256,
      chunkSize: FILE_CHUNK_BYTES, chunksSha256: digests.chunksSha256, chunkHashes: digests.chunkHashes, state: 'offered',
      verified: null, bytes: 0, sourcePath: source, sourceMtime: Math.trunc(info.mtimeMs), path: null, reason: null, thumb: thumbBytes,
    };
    this.deps.store.insertTransfer(row);
    const l = this.makeLive(this.deps.store.getTransfer(row.id)!);
    this.live.set(row.id, l);
    this.emit(l);
    if (this.deps.isConnected(to)) this.sendOffer(l);
    return row.id;
  }

  async accept(id: string): Promise<void> {
    const l = this.incomingOffer(id);
    const free = this.freeBytes(this.deps.partialDir);
    if (free < l.row.size + DISK_MARGIN_BYTES) {
      throw new FileTransferError('DISK_FULL', `Not enough free disk space for ${l.row.name}: it needs ${formatBytes(l.row.size)}, ${formatBytes(free)} are free. Free some space and accept again.`);
    }
    this.update(l, { state: 'transferring', verified: newBitmap(l.count) });
    l.bits = l.row.verified;
    await this.ensureFd(l);
    this.emit(l);
    if (l.count === 0) {
      void this.complete(l);
      return;
    }
    this.requestMissing(l);
  }

  decline(id: string): void {
    const l = this.incomingOffer(id);
    this.sendEnvelope(l.row.peer, 'FILE_ACCEPT', { fileId: id, accept: false, reason: 'declined' });
    this.fail(l, 'You declined this file.', false);
  }

  cancel(id: string): void {
    const l = this.live.get(id);
    if (!l) throw new FileTransferError('NO_SUCH_TRANSFER', 'That transfer is finished or does not exist.');
    const reason = l.row.direction === 'out' ? 'cancelled by the sender' : 'cancelled by the recipient';
    this.sendEnvelope(l.row.peer, 'FILE_CANCEL', { fileId: id, reason });
    this.fail(l, 'You cancelled this transfer.', false);
  }

  /**
   * The path of a file this device received and verified, for Open / Show in folder: only a
   * completed incoming transfer whose file is still a regular file inside the downloads folder.
   */
  completedPath(id: string): string {
    const row = this.deps.store.getTransfer(id);
    if (!row) throw new FileTransferError('NO_SUCH_TRANSFER', 'That transfer does not exist.');
    if (row.direction !== 'in' || row.state !== 'done' || !row.path) {
      throw new FileTransferError('NOT_RECEIVED', 'Only files you received completely (SHA-256 checked) can be opened.');
    }
    let real: string;
    let dir: string;
    try {
      real = realpathSync(row.path);
      dir = realpathSync(this.deps.settings().downloadsDir);
    } catch {
      throw new FileTransferError('FILE_GONE', `${row.name} is no longer in the downloads folder (moved or deleted).`);
    }
    const rel = relative(dir, real);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      throw new FileTransferError('OUTSIDE_DOWNLOADS', `${row.name} is not in the downloads folder any more, so it is not opened from here.`);
    }
    if (!statSync(real).isFile()) throw new FileTransferError('FILE_GONE', `${row.name} is no longer a file in the downloads folder.`);
    return real;
  }

  close(): void {
    this.closed = true;
    for (const l of this.live.values()) {
      l.pumpGen++;
      l.creditWaiter?.();
      this.unwatch(l);
      if (l.resumeTimer) clearTimeout(l.resumeTimer);
      if (l.writeTimer) clearTimeout(l.writeTimer);
      l.channel?.close();
      if (l.bits) this.deps.store.updateTransfer(l.row.id, { verified: l.bits, bytes: l.row.bytes });
      void l.fd?.close().catch(() => undefined);
      l.fd = null;
    }
    this.hasher.close();
  }

  // ── envelopes from the peer (already verified, from === peer, not replayed) ──────────────

  onEnvelope(env: Envelope): void {
    if (!this.deps.isContact(env.from)) {
      this.reject('UNAUTHORIZED', `${env.type} from non-contact ${env.from.slice(0, 8)}`);
      return;
    }
    switch (env.type) {
      case 'FILE_OFFER': return this.onOffer(env.from, env.body as DataChannelBodies['FILE_OFFER']);
      case 'FILE_ACCEPT': return this.onAccept(env.from, env.body as DataChannelBodies['FILE_ACCEPT']);
      case 'FILE_CANCEL': return this.onCancel(env.from, env.body as DataChannelBodies['FILE_CANCEL']);
      case 'FILE_DONE': return this.onDone(env.from, env.body as DataChannelBodies['FILE_DONE']);
    }
  }

  private onOffer(peer: string, o: DataChannelBodies['FILE_OFFER']): void {
    const existing = this.deps.store.getTransfer(o.fileId);
    if (existing) {
      if (existing.peer !== peer || existing.direction !== 'in' || existing.sha256 !== o.sha256 || existing.size !== o.size) {
        this.reject('FILE_REFUSED', `offer reuses file id ${o.fileId.slice(0, 8)} for different content`);
        return;
      }
      // The sender repeated its offer (it reconnected before seeing our answer): answer again.
      const l = this.live.get(o.fileId);
      if (l?.row.state === 'transferring') this.requestMissing(l);
      if (existing.state === 'failed') this.sendEnvelope(peer, 'FILE_ACCEPT', { fileId: o.fileId, accept: false, reason: 'declined' });
      // Our receipt was lost (the sender's watchdog asks by repeating its offer): send it again.
      if (existing.state === 'done') this.sendEnvelope(peer, 'FILE_DONE', { fileId: o.fileId, chunks: chunkCount(existing.size, existing.chunkSize), sha256: existing.sha256 });
      return;
    }
    const refuse = (code: RejectCode, why: string, tellUser: string): void => {
      this.reject(code, why);
      this.sendEnvelope(peer, 'FILE_ACCEPT', { fileId: o.fileId, accept: false, reason: why.slice(0, 200) });
      const name = sanitizeFileName(o.name).name;
      this.deps.onEvent({ id: o.fileId, peer, direction: 'in', name, size: o.size, ...(o.mime ? { mime: o.mime } : {}), state: 'failed', bytes: 0, reason: tellUser });
    };
    const { maxFileBytes } = this.deps.settings();
    if (this.deps.store.countOpenIncoming(peer) >= MAX_OPEN_INCOMING_PER_PEER || this.deps.store.countOpenIncoming() >= MAX_OPEN_INCOMING) {
      this.reject('FILE_REFUSED', `too many open file offers from ${peer.slice(0, 8)}`);
      this.sendEnvelope(peer, 'FILE_ACCEPT', { fileId: o.fileId, accept: false, reason: 'too many files waiting; try again when earlier ones are done' });
      return;
    }
    if (o.size > maxFileBytes) {
      refuse('FILE_REFUSED', `file of ${o.size} bytes is over the receiver's limit of ${maxFileBytes}`,
        `Declined automatically: ${formatBytes(o.size)} is over your limit of ${formatBytes(maxFileBytes)} (Settings).`);
      return;
    }
    const free = this.freeBytes(this.deps.partialDir);
    if (free < o.size + DISK_MARGIN_BYTES) {
      refuse('FILE_REFUSED', 'not enough free disk space at the receiver', `Declined automatically: not enough free disk space (${formatBytes(free)} free). Free some space and ask for it again.`);
      return;
    }
    let thumb: Buffer | null = null;
    if (o.thumb !== undefined) {
      // Decoration only: a bad one is dropped and counted, the offer stands.
      const checked = checkThumbBase64(o.thumb);
      if (checked.ok) thumb = checked.bytes;
      else this.reject('FILE_BAD_THUMB', `offer ${o.fileId.slice(0, 8)}: ${checked.reason}`);
    }
    const sanitized = sanitizeFileName(o.name);
    if (sanitized.changed) this.reject('FILE_BAD_NAME', `offered name ${JSON.stringify(o.name.slice(0, 80))} saved as ${JSON.stringify(sanitized.name)}`);
    this.deps.store.insertTransfer({
      id: o.fileId, peer, direction: 'in', name: sanitized.name, mime: o.mime ?? null, size: o.size, sha256: o.sha256,
      chunkSize: o.chunkSize, chunksSha256: o.chunksSha256, chunkHashes: null, state: 'offered', verified: null, bytes: 0,
      sourcePath: null, sourceMtime: null, path: null, reason: null, thumb,
    });
    this.deps.store.pruneFinishedTransfers(peer, KEEP_FINISHED_PER_PEER);
    const l = this.makeLive(this.deps.store.getTransfer(o.fileId)!);
    this.live.set(o.fileId, l);
    this.emit(l);
  }

  private onAccept(peer: string, a: DataChannelBodies['FILE_ACCEPT']): void {
    const l = this.live.get(a.fileId);
    if (!l || l.row.peer !== peer || l.row.direction !== 'out') {
      this.reject('FILE_UNKNOWN', `FILE_ACCEPT for unknown file ${a.fileId.slice(0, 8)}`);
      return;
    }
    if (!a.accept) {
      this.fail(l, a.reason && a.reason !== 'declined' ? `Declined: ${a.reason}` : 'The recipient declined this file.', false);
      return;
    }
    const ranges = a.ranges ?? [[0, l.count] as [number, number]];
    if (!rangesValid(ranges, l.count)) {
      this.reject('FILE_BAD_CHUNK', `FILE_ACCEPT asks for chunk ranges outside 0..${l.count}`);
      return;
    }
    if (l.row.state === 'offered') this.update(l, { state: 'transferring' });
    this.emit(l);
    this.watchSender(l);
    void this.pump(l, ranges);
  }

  private onCancel(peer: string, c: DataChannelBodies['FILE_CANCEL']): void {
    const l = this.live.get(c.fileId);
    if (!l || l.row.peer !== peer) {
      this.reject('FILE_UNKNOWN', `FILE_CANCEL for unknown file ${c.fileId.slice(0, 8)}`);
      return;
    }
    this.fail(l, l.row.direction === 'out' ? `The recipient stopped this transfer (${c.reason}).` : `The sender stopped this transfer (${c.reason}).`, false);
  }

  private onDone(peer: string, d: DataChannelBodies['FILE_DONE']): void {
    const l = this.live.get(d.fileId);
    // An empty file is complete at the receiver as soon as it is accepted: its receipt is the answer.
    const answerable = l?.row.state === 'transferring' || (l?.row.state === 'offered' && l.row.direction === 'out' && l.count === 0);
    if (!l || l.row.peer !== peer || !answerable) {
      this.reject('FILE_UNKNOWN', `FILE_DONE for unknown or unfinished file ${d.fileId.slice(0, 8)}`);
      return;
    }
    if (d.sha256 !== l.row.sha256 || d.chunks !== l.count) {
      this.reject('FILE_HASH_MISMATCH', `FILE_DONE for ${d.fileId.slice(0, 8)} names another SHA-256 or chunk count than the offer`);
      const who = l.row.direction === 'out' ? 'recipient' : 'sender';
      this.fail(l, `The ${who} reported a different SHA-256 than the one offered; the file was not accepted as complete.`, true);
      return;
    }
    if (l.row.direction === 'out') {
      // The recipient's receipt: it verified the whole file.
      this.update(l, { state: 'done', bytes: l.row.size });
      l.pumpGen++;
      l.channel?.close();
      this.finish(l);
    }
    // Sender's FILE_DONE at the receiver: completion is decided by the verified chunks alone.
  }

  // ── sender ───────────────────────────────────────────────────────────────────────────────

  private sendOffer(l: Live): void {
    const r = l.row;
    this.sendEnvelope(r.peer, 'FILE_OFFER', {
      fileId: r.id, name: r.name, size: r.size, ...(r.mime ? { mime: r.mime } : {}), sha256: r.sha256, chunkSize: r.chunkSize, chunksSha256: r.chunksSha256,
      ...(r.thumb ? { thumb: r.thumb.toString('base64') } : {}),
    });
  }

  private async pump(l: Live, ranges: readonly (readonly [number, number])[]): Promise<void> {
    const gen = ++l.pumpGen;
    l.creditWaiter?.();
    l.channel?.close();
    l.activityAt = Date.now();
    l.channelSent = 0;
    l.pumpDone = false;
    const ch = this.deps.channels?.open(l.row.peer, channelLabel(l.row.id)) ?? null;
    l.channel = ch;
    if (!ch) return; // not connected: the receiver asks again once the connection is back
    this.counters.channelsOpened++;
    l.channelWritten = 0;
    const before = l.row.size - Math.min(l.row.size, chunksIn(ranges) * l.row.chunkSize);
    // Nothing is sent until the receiver's first WRITTEN (0) says it is listening on this channel:
    // bytes that arrived before its listener would otherwise be lost.
    let ready!: () => void;
    const receiverReady = new Promise<void>((r) => (ready = r));
    ch.onMessage((data) => {
      const msg = typeof data === 'string' ? null : decodeWire(data);
      if (msg?.kind !== 'written') {
        this.reject('FILE_BAD_CHUNK', 'unexpected message from the recipient on a file channel');
        return;
      }
      if (l.channel !== ch) return;
      ready();
      if (msg.count > l.channelWritten) {
        l.activityAt = Date.now();
        l.stalls = 0;
      }
      l.channelWritten = msg.count;
      l.row.bytes = Math.min(l.row.size, before + msg.count * l.row.chunkSize);
      this.progress(l);
      l.creditWaiter?.();
    });
    ch.onClose(() => {
      l.creditWaiter?.();
      ready();
    });
    const live = (): boolean => !this.closed && l.pumpGen === gen && ch.isOpen;
    if (!(await ch.opened()) || !live()) return;
    await receiverReady;
    if (!live()) return;

    const hashes = l.row.chunkHashes ?? Buffer.alloc(0);
    for (let i = 0; i < l.count; i += HASHES_PER_MESSAGE) {
      if (ch.full) await ch.room();
      if (!live()) return;
      ch.send(encodeHashes(i, hashes.subarray(i * DIGEST_BYTES, Math.min(l.count, i + HASHES_PER_MESSAGE) * DIGEST_BYTES)));
    }

    let fh: FileHandle;
    try {
      const now = await stat(l.row.sourcePath ?? '');
      // mtime is kept in whole ms; a timestamp written back through utimes can come out a hair lower.
      if (now.size !== l.row.size || Math.abs(now.mtimeMs - (l.row.sourceMtime ?? 0)) >= 2) throw new Error('changed');
      fh = await open(l.row.sourcePath ?? '', 'r');
    } catch {
      if (l.pumpGen !== gen) return;
      this.sendEnvelope(l.row.peer, 'FILE_CANCEL', { fileId: l.row.id, reason: 'the file changed or was removed at the sender' });
      this.fail(l, `${l.row.sourcePath} changed or was removed after it was offered; send it again.`, false);
      return;
    }
    try {
      // One block is read ahead while the one before it is sent: the disk is off the critical path.
      const blocks = blocksOf(ranges, READ_BLOCK_CHUNKS);
      const readBlock = (b: Block | undefined): Promise<Buffer[]> | null => {
        if (!b) return null;
        const frames: Buffer[] = [];
        for (let seq = b.first; seq < b.end; seq++) frames.push(header(MSG_CHUNK, seq, chunkLength(seq, l.row.size, l.row.chunkSize)));
        const p = readFully(fh, frames.map((f) => f.subarray(HEADER_BYTES)), b.first * l.row.chunkSize).then(() => frames);
        p.catch(() => undefined); // awaited below; this only keeps an abandoned read-ahead from being "unhandled"
        return p;
      };
      let next = readBlock(blocks[0]);
      for (let bi = 0; next; bi++) {
        const frames = await next;
        next = readBlock(blocks[bi + 1]);
        for (const frame of frames) {
          while (live() && (ch.full || l.channelSent - l.channelWritten >= WINDOW_CHUNKS)) {
            const t0 = performance.now();
            if (ch.full) {
              await ch.room();
              this.counters.waitRoomMs += performance.now() - t0;
            } else {
              await new Promise<void>((r) => (l.creditWaiter = r));
              this.counters.waitCreditMs += performance.now() - t0;
            }
            l.creditWaiter = null;
          }
          if (!live() || !ch.send(frame)) return;
          l.channelSent++;
          this.counters.chunkBytesSent += frame.length - HEADER_BYTES;
        }
      }
    } catch {
      if (l.pumpGen === gen) {
        this.sendEnvelope(l.row.peer, 'FILE_CANCEL', { fileId: l.row.id, reason: 'the sender could not read the file' });
        this.fail(l, `Could not read ${l.row.sourcePath} any more; send it again.`, false);
      }
      return;
    } finally {
      await fh.close().catch(() => undefined);
    }
    if (!live()) return;
    l.pumpDone = true;
    this.sendEnvelope(l.row.peer, 'FILE_DONE', { fileId: l.row.id, chunks: l.count, sha256: l.row.sha256 });
  }

  /** Starts the outgoing transfer's watchdog (STALL_MS): it runs until the transfer is done or failed. */
  private watchSender(l: Live): void {
    l.activityAt = Date.now();
    if (l.watchdog) return;
    l.watchdog = setInterval(() => this.checkSender(l), Math.max(250, Math.floor(STALL_MS / 4)));
    l.watchdog.unref?.();
  }

  private unwatch(l: Live): void {
    if (l.watchdog) clearInterval(l.watchdog);
    l.watchdog = null;
  }

  private checkSender(l: Live): void {
    if (this.closed || l.row.state !== 'transferring') {
      this.unwatch(l);
      return;
    }
    const now = Date.now();
    if (!this.deps.isConnected(l.row.peer)) {
      l.activityAt = now; // waiting for a path is not a stall: the receiver asks again when it is back
      return;
    }
    if (now - l.activityAt < STALL_MS) return;
    l.activityAt = now;
    l.stalls++;
    this.counters.stalls++;
    const ch = l.channel;
    if (l.stalls >= MAX_STALLS) {
      const secs = Math.round(STALL_MS / 1000);
      let why: string;
      if (l.row.bytes >= l.row.size) why = `The recipient took every chunk but never confirmed the file (no receipt for ${secs} s, ${MAX_STALLS} times).`;
      else if (l.row.bytes > 0 || l.channelSent > 0) why = `The transfer stalled: the connection stopped taking data for ${secs} s, ${MAX_STALLS} times in a row.`;
      else why = `The recipient accepted but never started receiving (no answer on the file channel for ${secs} s, ${MAX_STALLS} times in a row).`;
      this.sendEnvelope(l.row.peer, 'FILE_CANCEL', { fileId: l.row.id, reason: 'the transfer stalled' });
      this.fail(l, `${why} Send it again when the connection is better.`, false);
      return;
    }
    l.pumpGen++;
    l.creditWaiter?.();
    if (ch?.isOpen) {
      // The receiver sees its channel close and asks for the rest on a new one.
      l.channel = null;
      ch.close();
    } else {
      // No channel (it never opened, or the receiver did not ask again after the last stall):
      // repeating the offer asks the receiver where it stands.
      ch?.close();
      l.channel = null;
      this.sendOffer(l);
    }
  }

  // ── receiver ─────────────────────────────────────────────────────────────────────────────

  private incomingOffer(id: string): Live {
    const l = this.live.get(id);
    if (!l || l.row.direction !== 'in' || l.row.state !== 'offered') {
      throw new FileTransferError('NO_SUCH_OFFER', 'There is no open offer with that id (it may have been cancelled).');
    }
    return l;
  }

  private requestMissing(l: Live): void {
    if (!l.bits || l.recheck || !this.deps.isConnected(l.row.peer)) return;
    const ranges = missingRanges(l.bits, l.count, MAX_FILE_RANGES);
    if (ranges.length === 0) return;
    this.sendEnvelope(l.row.peer, 'FILE_ACCEPT', { fileId: l.row.id, accept: true, ranges });
  }

  private onChannel(peer: string, ch: FileChannel): void {
    const id = fileIdOfLabel(ch.label);
    const l = id ? this.live.get(id) : undefined;
    if (!l || l.row.peer !== peer || l.row.direction !== 'in') {
      this.reject('FILE_UNKNOWN', `file channel ${JSON.stringify(ch.label.slice(0, 45))} for no transfer of ${peer.slice(0, 8)}`);
      ch.onMessage(() => this.reject('FILE_UNKNOWN', 'chunk for an unknown file'));
      setTimeout(() => ch.close(), 1000).unref?.();
      return;
    }
    if (l.row.state !== 'transferring') {
      this.reject('FILE_UNKNOWN', `file channel for ${l.row.id.slice(0, 8)}, which is ${l.row.state === 'offered' ? 'not accepted' : l.row.state}`);
      ch.onMessage(() => this.reject('FILE_UNKNOWN', `chunk for a file that is ${l.row.state === 'offered' ? 'not accepted' : l.row.state}`));
      setTimeout(() => ch.close(), 1000).unref?.();
      return;
    }
    l.channel?.close();
    l.channel = ch;
    l.channelWritten = 0;
    l.channelReported = 0;
    if (!l.hashes) {
      l.hashBuf = Buffer.alloc(l.count * DIGEST_BYTES);
      l.hashesGot = 0;
    }
    ch.onMessage((data) => this.onIncomingData(l, ch, data));
    void ch.opened().then((open) => open && ch.send(encodeWritten(0)));
    ch.onClose(() => {
      if (l.channel !== ch) return;
      l.channel = null;
      this.persist(l);
      if (l.row.state === 'transferring' && !this.closed) {
        if (l.resumeTimer) clearTimeout(l.resumeTimer);
        l.resumeTimer = setTimeout(() => {
          l.resumeTimer = null;
          if (l.channel === null && l.row.state === 'transferring') this.requestMissing(l);
        }, RESUME_AFTER_CHANNEL_LOSS_MS);
        l.resumeTimer.unref?.();
      }
    });
  }

  private onIncomingData(l: Live, ch: FileChannel, data: Uint8Array | string): void {
    if (l.channel !== ch || l.row.state !== 'transferring') return;
    const violation = (code: RejectCode, why: string, tellUser: string): void => {
      this.reject(code, why);
      this.fail(l, tellUser, true);
    };
    const msg = typeof data === 'string' ? null : decodeWire(data);
    if (!msg || msg.kind === 'written') {
      violation('FILE_BAD_CHUNK', 'malformed message on a file channel', 'The sender broke the file protocol; the transfer was stopped.');
      return;
    }
    if (msg.kind === 'hashes') {
      if (l.hashes) return; // a resumed channel repeats the list we already verified
      const buf = l.hashBuf;
      if (!buf || msg.first !== l.hashesGot || (msg.first + msg.digests.length / DIGEST_BYTES) * DIGEST_BYTES > buf.length) {
        violation('FILE_BAD_CHUNK', 'chunk digest list out of order or too long', 'The sender broke the file protocol; the transfer was stopped.');
        return;
      }
      buf.set(msg.digests, msg.first * DIGEST_BYTES);
      l.hashesGot += msg.digests.length / DIGEST_BYTES;
      if (l.hashesGot === l.count) this.adoptHashes(l, buf);
      return;
    }
    const { seq, data: bytes } = msg;
    if (!l.hashes) {
      violation('FILE_BAD_CHUNK', 'chunk before the digest list', 'The sender broke the file protocol; the transfer was stopped.');
      return;
    }
    if (seq >= l.count) {
      violation('FILE_BAD_CHUNK', `chunk seq ${seq} out of range 0..${l.count - 1}`, `The sender sent a chunk outside the file (seq ${seq}); the transfer was stopped.`);
      return;
    }
    if (bytes.length !== chunkLength(seq, l.row.size, l.row.chunkSize)) {
      violation('OVERSIZE', `chunk ${seq} is ${bytes.length} bytes, expected ${chunkLength(seq, l.row.size, l.row.chunkSize)}`, `The sender sent a chunk of the wrong size (chunk ${seq}); the transfer was stopped.`);
      return;
    }
    if (l.queue.length >= 2 * WINDOW_CHUNKS) {
      violation('FILE_BAD_CHUNK', 'sender ignored the flow-control window', 'The sender ignored flow control; the transfer was stopped.');
      return;
    }
    this.counters.chunkBytesReceived += bytes.length;
    const expected = l.hashes.subarray(seq * DIGEST_BYTES, (seq + 1) * DIGEST_BYTES);
    if (!chunkMatches(bytes, expected)) {
      violation('FILE_HASH_MISMATCH', `chunk ${seq} does not match its digest in the signed offer`,
        `Chunk ${seq} did not match the SHA-256 the sender signed: the file is corrupt or was changed while sending. Nothing was saved; ask for it again.`);
      return;
    }
    l.queue.push({ seq, bytes, ch });
    this.scheduleWrite(l);
  }

  /** Whether the queued chunks are worth a write now: a batch, or perhaps the file's last ones. */
  private batchReady(l: Live): boolean {
    return l.queue.length >= WRITE_MIN_CHUNKS || l.verifiedCount + l.queue.length >= l.count;
  }

  private scheduleWrite(l: Live): void {
    if (l.writing || l.queue.length === 0 || l.row.state !== 'transferring') return;
    if (this.batchReady(l)) {
      this.startWrites(l, false);
      return;
    }
    if (l.writeTimer) return;
    l.writeTimer = setTimeout(() => this.startWrites(l, true), WRITE_WAIT_MS);
    l.writeTimer.unref?.();
  }

  private startWrites(l: Live, all: boolean): void {
    if (l.writeTimer) clearTimeout(l.writeTimer);
    l.writeTimer = null;
    if (l.writing || l.queue.length === 0 || l.row.state !== 'transferring') return;
    l.writes = this.drain(l, all);
  }

  /**
   * Writes verified chunks in runs of consecutive seqs, one writev each, then grants credit; while
   * a batch is queued (batchReady), or everything queued if `all`. What is left waits for more.
   */
  private async drain(l: Live, all: boolean): Promise<void> {
    l.writing = true;
    try {
      while (l.queue.length > 0 && (all || this.batchReady(l)) && l.row.state === 'transferring') {
        const run = [l.queue.shift()!];
        while (run.length < WRITE_BATCH_CHUNKS && l.queue[0]?.seq === run[run.length - 1]!.seq + 1) run.push(l.queue.shift()!);
        const fd = await this.ensureFd(l);
        const bytes = run.map((c) => c.bytes);
        await writeFully(fd, bytes, run[0]!.seq * l.row.chunkSize);
        this.counters.writeCalls++;
        if (l.row.state !== 'transferring') return;
        this.flushBehind(l, fd, bytes);
        const bits = l.bits!;
        for (const c of run) {
          if (!hasBit(bits, c.seq)) {
            setBit(bits, c.seq);
            l.verifiedCount++;
            l.row.bytes += c.bytes.length;
            this.counters.chunksWritten++;
          }
          if (c.ch === l.channel) l.channelWritten++;
        }
        // The whole file's SHA-256 runs off the event loop (whole-hash.ts): it takes these bytes
        // if they continue it, as they do in a transfer that arrives in order, and otherwise
        // reads back from disk what the verified prefix covers.
        while (l.prefix < l.count && hasBit(bits, l.prefix)) l.prefix++;
        this.hasher.written(l.row.id, this.tempPath(l), run[0]!.seq * l.row.chunkSize, bytes, Math.min(l.row.size, l.prefix * l.row.chunkSize));
        const ch = l.channel;
        if (ch && (l.channelWritten - l.channelReported >= WRITTEN_EVERY || l.verifiedCount === l.count)) {
          l.channelReported = l.channelWritten;
          ch.send(encodeWritten(l.channelWritten));
        }
        this.progress(l);
        if (Date.now() - l.lastPersistAt > PERSIST_EVERY_MS || l.row.bytes - l.bytesAtPersist >= PERSIST_EVERY_BYTES) this.persist(l);
        if (l.verifiedCount === l.count) void this.complete(l);
      }
    } catch (err) {
      this.fail(l, `Could not write the file: ${(err as Error).message}. Check the disk and ask for it again.`, true);
    } finally {
      l.writing = false;
    }
    this.scheduleWrite(l);
  }

  /**
   * Starts an fdatasync once FLUSH_BEHIND_BYTES were written since the last, not waited for (at
   * most one at a time; FileHandle.close waits for it). Progress is saved without it (persist).
   */
  private flushBehind(l: Live, fd: FileHandle, written: readonly Uint8Array[]): void {
    for (const b of written) l.unsynced += b.length;
    if (l.flushing || l.unsynced < FLUSH_BEHIND_BYTES) return;
    l.unsynced = 0;
    l.flushing = true;
    void fd.datasync().catch(() => undefined).then(() => {
      l.flushing = false;
    });
  }

  private adoptHashes(l: Live, buf: Buffer): void {
    if (sha256Hex(buf) !== l.row.chunksSha256) {
      this.reject('FILE_HASH_MISMATCH', 'chunk digest list does not match the signed offer');
      this.fail(l, 'The chunk list did not match what the sender signed; the transfer was stopped.', true);
      return;
    }
    l.hashes = buf;
    l.hashBuf = null;
    this.update(l, { chunkHashes: buf });
  }

  /**
   * Saves the verified bitmap, which vouches only for chunks whose writes had finished. No
   * fdatasync first: a killed process loses nothing the kernel already has, and waiting for the
   * disk (seconds on a busy one) let the saved progress trail far behind. What a power cut loses,
   * recheck() finds after the restart.
   */
  private persist(l: Live): void {
    if (!l.bits || l.row.state !== 'transferring' || l.recheck) return;
    l.lastPersistAt = Date.now();
    l.bytesAtPersist = l.row.bytes;
    this.deps.store.updateTransfer(l.row.id, { verified: l.bits, bytes: l.row.bytes });
  }

  /** After a restart: keeps only the claimed chunks that still match their digests, then asks for the rest. */
  private async recheck(l: Live): Promise<void> {
    const bits = l.bits!;
    try {
      const r = await recheckVerified(this.tempPath(l), bits, { count: l.count, size: l.row.size, chunkSize: l.row.chunkSize, digests: l.hashes });
      this.counters.chunksRechecked += r.checked;
      this.counters.chunksLostOnDisk += r.dropped;
    } catch {
      bits.fill(0); // unreadable: ask for all of it again
    }
    l.verifiedCount = countBits(bits, l.count);
    let bytes = 0;
    for (let seq = 0; seq < l.count; seq++) if (hasBit(bits, seq)) bytes += chunkLength(seq, l.row.size, l.row.chunkSize);
    l.row.bytes = bytes;
    l.recheck = null;
    if (l.row.state !== 'transferring') return;
    this.persist(l);
    // Killed after the last chunk was saved but before done: nothing to ask for, only to finish.
    if (l.verifiedCount === l.count) void this.complete(l);
    else this.requestMissing(l);
  }

  private async complete(l: Live): Promise<void> {
    if (l.completing || l.row.state !== 'transferring') return;
    l.completing = true;
    await l.writes;
    if (l.row.state !== 'transferring') return;
    const temp = this.tempPath(l);
    try {
      const fd = await this.ensureFd(l);
      const t0 = performance.now();
      await fd.sync();
      await fd.close();
      l.fd = null;
      const t1 = performance.now();
      this.counters.finishSyncMs += t1 - t0;
      // The worker's running hash, finished from disk where it was not fed; should the worker
      // fail, this thread reads the whole file.
      const actual = await this.hasher.finish(l.row.id, temp, l.row.size).then((h) => {
        this.counters.hashBytesStreamed += h.fed;
        this.counters.hashBytesReread += h.read;
        return h.sha256;
      }, () => {
        this.counters.hashBytesReread += l.row.size;
        return hashFile(temp);
      });
      this.counters.finishHashMs += performance.now() - t1;
      if (l.row.state !== 'transferring') return;
      if (actual !== l.row.sha256) {
        this.reject('FILE_HASH_MISMATCH', `file ${l.row.id.slice(0, 8)} hashes to ${actual.slice(0, 12)}, offer says ${l.row.sha256.slice(0, 12)}`);
        this.fail(l, 'The received file\'s SHA-256 does not match the offer; it was discarded. Ask for it again.', true);
        return;
      }
      const dir = this.deps.settings().downloadsDir;
      mkdirSync(dir, { recursive: true });
      const path = moveIntoFolder(temp, dir, l.row.name);
      this.update(l, { state: 'done', path, bytes: l.row.size, verified: l.bits ?? undefined });
      this.sendEnvelope(l.row.peer, 'FILE_DONE', { fileId: l.row.id, chunks: l.count, sha256: actual });
      l.channel?.close();
      this.finish(l);
    } catch (err) {
      this.fail(l, `Could not save the file: ${(err as Error).message}.`, true);
    }
  }

  private async ensureFd(l: Live): Promise<FileHandle> {
    if (l.fd) return l.fd;
    mkdirSync(this.deps.partialDir, { recursive: true, mode: 0o700 });
    const path = this.tempPath(l);
    l.fd = await open(path, existsSync(path) ? 'r+' : 'w+', 0o600);
    return l.fd;
  }

  private tempPath(l: Live): string {
    return join(this.deps.partialDir, `${l.row.id}.part`);
  }

  // ── shared ───────────────────────────────────────────────────────────────────────────────

  private makeLive(row: FileTransferRow): Live {
    const count = chunkCount(row.size, row.chunkSize);
    const bits = row.verified ? Buffer.from(row.verified) : null;
    return {
      row, count, channel: null, lastEmitAt: 0, lastEmitBytes: row.bytes, pumpGen: 0, channelWritten: 0, creditWaiter: null, stalls: 0,
      channelSent: 0, pumpDone: false, activityAt: 0, watchdog: null,
      fd: null, hashes: row.direction === 'in' ? row.chunkHashes : null, hashBuf: null, hashesGot: 0, bits,
      verifiedCount: bits ? countBits(bits, count) : 0, queue: [], writing: false, writes: Promise.resolve(), writeTimer: null, unsynced: 0, flushing: false, channelReported: 0,
      recheck: null, prefix: 0, lastPersistAt: 0, bytesAtPersist: 0,
      completing: false, resumeTimer: null,
    };
  }

  private update(l: Live, patch: Parameters<Store['updateTransfer']>[1]): void {
    this.deps.store.updateTransfer(l.row.id, patch);
    for (const [k, v] of Object.entries(patch)) if (v !== undefined) (l.row as unknown as Record<string, unknown>)[k] = v;
  }

  private fail(l: Live, reason: string, notifyPeer: boolean): void {
    if (l.row.state === 'done' || l.row.state === 'failed') return;
    if (notifyPeer) this.sendEnvelope(l.row.peer, 'FILE_CANCEL', { fileId: l.row.id, reason: 'the transfer failed at the other side' });
    this.update(l, { state: 'failed', reason });
    this.unwatch(l);
    l.queue = [];
    if (l.writeTimer) clearTimeout(l.writeTimer);
    l.writeTimer = null;
    l.pumpGen++;
    l.creditWaiter?.();
    if (l.resumeTimer) clearTimeout(l.resumeTimer);
    l.channel?.close();
    l.channel = null;
    if (l.row.direction === 'in') {
      this.hasher.drop(l.row.id);
      const temp = this.tempPath(l);
      const fd = l.fd;
      l.fd = null;
      void l.writes.then(() => fd?.close()).catch(() => undefined).then(() => {
        try { unlinkSync(temp); } catch { /* never created */ }
      });
    }
    this.counters.failed++;
    this.finish(l);
  }

  private finish(l: Live): void {
    if (l.row.state === 'done') this.counters.done++;
    this.unwatch(l);
    this.live.delete(l.row.id);
    this.emit(l);
  }

  private progress(l: Live): void {
    const now = Date.now();
    if (now - l.lastEmitAt < PROGRESS_EVERY_MS) return;
    this.emit(l, now);
  }

  private emit(l: Live, now = Date.now()): void {
    const info = this.info(l);
    if (info.state === 'progress') {
      const dt = (now - l.lastEmitAt) / 1000;
      info.rate = l.lastEmitAt > 0 && dt > 0 ? Math.max(0, Math.round((l.row.bytes - l.lastEmitBytes) / dt)) : 0;
    }
    l.lastEmitAt = now;
    l.lastEmitBytes = l.row.bytes;
    this.deps.onEvent(info);
  }

  private info(l: Live, withThumb = false): FileInfo {
    const r = l.row;
    const state = r.state === 'transferring' ? 'progress' : r.state;
    // Progress events come several times a second: the thumbnail rides on the others only.
    const thumb = r.thumb && (withThumb || state !== 'progress') ? thumbDataUrl(r.thumb) : undefined;
    return {
      id: r.id, peer: r.peer, direction: r.direction, name: r.name, size: r.size, ...(r.mime ? { mime: r.mime } : {}), state, bytes: r.bytes,
      ...(r.path && r.state === 'done' ? { path: r.path } : {}), ...(r.reason && r.state === 'failed' ? { reason: r.reason } : {}),
      ...(thumb ? { thumb } : {}),
    };
  }

  private sendEnvelope<T extends FileEnvelopeType>(peer: string, type: T, body: DataChannelBodies[T]): boolean {
    const env = signEnvelope({ type, to: peer, body }, this.deps.identity, this.deps.signer);
    return this.deps.sendFrame(peer, encodeEnvelope(env));
  }

  private reject(code: RejectCode, reason: string): void {
    this.deps.rejects.count(code, reason, 'file');
  }

  private freeBytes(dir: string): number {
    if (this.deps.freeBytes) return this.deps.freeBytes(dir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  }
}
