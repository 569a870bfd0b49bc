import type BetterSqlite3 from 'better-sqlite3';

export type TransferDirection = 'in' | 'out';
export type TransferState = 'offered' | 'transferring' | 'done' | 'failed';

export interface FileTransferRow {
  id: string;
  peer: string;
  direction: TransferDirection;
  name: string;
  mime: string | null;
  size: number;
  sha256: string;
  chunkSize: number;
  chunksSha256: string;
  /** Concatenated 32-byte chunk digests (sender: computed; receiver: once verified against the offer). */
  chunkHashes: Buffer | null;
  state: TransferState;
  /** Receiver: bitmap of chunks verified and written (bit i of byte i>>3). */
  verified: Buffer | null;
  bytes: number;
  sourcePath: string | null;
  sourceMtime: number | null;
  path: string | null;
  reason: string | null;
  /** An image's thumbnail from the offer (PNG/JPEG/GIF/WebP/BMP bytes, checked), or null. */
  thumb: Buffer | null;
  createdAt: number;
  updatedAt: number;
}

export interface FileTransferStore {
  /** `thumb` may be left out (no thumbnail). */
  insertTransfer(row: Omit<FileTransferRow, 'createdAt' | 'updatedAt' | 'thumb'> & { thumb?: Buffer | null }): void;
  getTransfer(id: string): FileTransferRow | undefined;
  /** Newest first; all peers when peer is undefined. */
  listTransfers(peer?: string, limit?: number): FileTransferRow[];
  /** Transfers not yet done or failed (what to resume after a restart). */
  unfinishedTransfers(): FileTransferRow[];
  countOpenIncoming(peer?: string): number;
  updateTransfer(id: string, patch: Partial<Pick<FileTransferRow, 'state' | 'verified' | 'bytes' | 'path' | 'reason' | 'chunkHashes'>>): void;
  /** Keeps the newest `keep` finished transfers of a peer; returns how many were deleted. */
  pruneFinishedTransfers(peer: string, keep: number): number;
}

interface Row {
  id: string; peer: string; direction: string; name: string; mime: string | null; size: number; sha256: string;
  chunk_size: number; chunks_sha256: string; chunk_hashes: Buffer | null; state: string; verified: Buffer | null;
  bytes: number; source_path: string | null; source_mtime: number | null; path: string | null; reason: string | null;
  thumb: Buffer | null; created_at: number; updated_at: number;
}

function toRow(r: Row): FileTransferRow {
  return {
    id: r.id, peer: r.peer, direction: r.direction as TransferDirection, name: r.name, mime: r.mime, size: r.size,
    sha256: r.sha256, chunkSize: r.chunk_size, chunksSha256: r.chunks_sha256, chunkHashes: r.chunk_hashes,
    state: r.state as TransferState, verified: r.verified, bytes: r.bytes, sourcePath: r.source_path,
    sourceMtime: r.source_mtime, path: r.path, reason: r.reason, thumb: r.thumb, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

const COLUMNS: Record<string, string> = {
  state: 'state', verified: 'verified', bytes: 'bytes', path: 'path', reason: 'reason', chunkHashes: 'chunk_hashes',
};

export function createFileTransferQueries(db: BetterSqlite3.Database, now: () => number): FileTransferStore {
  const insert = db.prepare(`
    INSERT INTO file_transfers (id, peer, direction, name, mime, size, sha256, chunk_size, chunks_sha256, chunk_hashes,
      state, verified, bytes, source_path, source_mtime, path, reason, thumb, created_at, updated_at)
    VALUES (@id, @peer, @direction, @name, @mime, @size, @sha256, @chunkSize, @chunksSha256, @chunkHashes,
      @state, @verified, @bytes, @sourcePath, @sourceMtime, @path, @reason, @thumb, @at, @at)`);
  const get = db.prepare<[string], Row>('SELECT * FROM file_transfers WHERE id = ?');
  const listAll = db.prepare<[number], Row>('SELECT * FROM file_transfers ORDER BY created_at DESC, id LIMIT ?');
  const listPeer = db.prepare<[string, number], Row>('SELECT * FROM file_transfers WHERE peer = ? ORDER BY created_at DESC, id LIMIT ?');
  const unfinished = db.prepare<[], Row>("SELECT * FROM file_transfers WHERE state IN ('offered', 'transferring') ORDER BY created_at");
  const openIn = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM file_transfers WHERE direction = 'in' AND state IN ('offered', 'transferring')");
  const openInPeer = db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM file_transfers WHERE peer = ? AND direction = 'in' AND state IN ('offered', 'transferring')");
  const prune = db.prepare(`
    DELETE FROM file_transfers WHERE peer = @peer AND state IN ('done', 'failed') AND id NOT IN (
      SELECT id FROM file_transfers WHERE peer = @peer AND state IN ('done', 'failed') ORDER BY updated_at DESC LIMIT @keep)`);
  const updates = new Map<string, BetterSqlite3.Statement>();
  return {
    insertTransfer(row) {
      insert.run({ ...row, thumb: row.thumb ?? null, at: now() });
    },
    getTransfer(id) {
      const r = get.get(id);
      return r ? toRow(r) : undefined;
    },
    listTransfers(peer, limit = 200) {
      return (peer === undefined ? listAll.all(limit) : listPeer.all(peer, limit)).map(toRow);
    },
    unfinishedTransfers() {
      return unfinished.all().map(toRow);
    },
    countOpenIncoming(peer) {
      return (peer === undefined ? openIn.get() : openInPeer.get(peer))?.n ?? 0;
    },
    updateTransfer(id, patch) {
      const keys = Object.keys(patch).filter((k) => COLUMNS[k] && patch[k as keyof typeof patch] !== undefined).sort();
      if (keys.length === 0) return;
      const sig = keys.join(',');
      let stmt = updates.get(sig);
      if (!stmt) {
        stmt = db.prepare(`UPDATE file_transfers SET ${keys.map((k) => `${COLUMNS[k]} = @${k}`).join(', ')}, updated_at = @at WHERE id = @id`);
        updates.set(sig, stmt);
      }
      stmt.run({ ...Object.fromEntries(keys.map((k) => [k, patch[k as keyof typeof patch]])), id, at: now() });
    },
    pruneFinishedTransfers(peer, keep) {
      return prune.run({ peer, keep }).changes;
    },
  };
}
