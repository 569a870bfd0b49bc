import { useEffect, useMemo, useRef, useState, type DragEvent } from 'react';
import type { FileInfo } from '../../shared/api';
import { useFiles } from '../state/files';
import { formatBytes } from '../../shared/format-bytes';
import { isImageDataUrl, isThumbUrl } from '../thumbnail';

function eta(f: FileInfo): string {
  if (!f.rate || f.rate <= 0) return 'estimating…';
  const s = Math.ceil((f.size - f.bytes) / f.rate);
  return s < 60 ? `${s} s left` : `${Math.floor(s / 60)} min ${s % 60} s left`;
}

function FileCard({ f, peerName }: { f: FileInfo; peerName: string }) {
  const accept = useFiles((s) => s.accept);
  const decline = useFiles((s) => s.decline);
  const cancel = useFiles((s) => s.cancel);
  const open = useFiles((s) => s.open);
  const show = useFiles((s) => s.show);
  const url = useFiles((s) => (f.state === 'done' && f.direction === 'in' ? s.downloadUrl(f.id) : null));
  const incoming = f.direction === 'in';
  const image = /^image\/(png|jpeg|gif|webp|bmp)$/.test(f.mime ?? '');
  // Electron has no download URL: a received image whose offer had no preview is shown from the host.
  const wantsPreview = f.state === 'done' && incoming && !url && image && !isThumbUrl(f.thumb);
  const preview = useFiles((s) => s.previews[f.id]);
  const loadPreview = useFiles((s) => s.loadPreview);
  useEffect(() => {
    if (wantsPreview) void loadPreview(f.id);
  }, [wantsPreview, f.id, loadPreview]);
  const kind = f.mime ?? 'file';
  const pct = f.size > 0 ? Math.floor((f.bytes / f.size) * 100) : 100;
  return (
    <li className={`file-card file-${f.state}`} data-testid="file-card" data-file-id={f.id} data-state={f.state}>
      <div className="file-title">
        <strong>{f.name}</strong> <span className="hint">{formatBytes(f.size)} · {kind}</span>
      </div>
      {f.state === 'offered' && incoming && (
        <div className="file-actions">
          <span>{peerName} wants to send you this file.</span>
          <button type="button" data-testid="file-accept" onClick={() => void accept(f.id)}>Accept</button>
          <button type="button" data-testid="file-decline" onClick={() => void decline(f.id)}>Decline</button>
        </div>
      )}
      {f.state === 'offered' && !incoming && (
        <div className="file-actions">
          <span>Waiting for {peerName} to accept…</span>
          <button type="button" data-testid="file-cancel" onClick={() => void cancel(f.id)}>Cancel</button>
        </div>
      )}
      {f.state === 'progress' && (
        <div className="file-actions">
          <progress data-testid="file-progress" max={f.size || 1} value={f.bytes} aria-label={`${f.name}: ${pct}%`} />
          <span data-testid="file-speed">{pct}% · {formatBytes(f.rate ?? 0)}/s · {eta(f)}</span>
          <button type="button" data-testid="file-cancel" onClick={() => void cancel(f.id)}>Cancel</button>
        </div>
      )}
      {f.state === 'done' && (
        <div className="file-actions">
          <span data-testid="file-done">{incoming ? 'Received and verified (SHA-256).' : `Delivered to ${peerName}.`}</span>
          {url && <a href={url} download={f.name} data-testid="file-download">Download</a>}
          {incoming && !url && f.path && (
            <>
              <button type="button" data-testid="file-open" onClick={() => void open(f.id)}>Open</button>
              <button type="button" data-testid="file-show" onClick={() => void show(f.id)}>Show in folder</button>
              <span className="hint">Saved as {f.path}</span>
            </>
          )}
        </div>
      )}
      {isThumbUrl(f.thumb) ? (
        // The offer's preview (the host checked its bytes): shown before accepting, and after.
        <img className="file-thumb" src={f.thumb} alt={`Preview of ${f.name}`} data-testid="file-thumb" data-thumb="offer" />
      ) : f.state === 'done' && url && image ? (
        <img className="file-thumb" src={url} alt={`Thumbnail of ${f.name}`} data-testid="file-thumb" data-thumb="file" />
      ) : wantsPreview && isImageDataUrl(preview) && (
        <img className="file-thumb" src={preview} alt={`Thumbnail of ${f.name}`} data-testid="file-thumb" data-thumb="file" />
      )}
      {f.state === 'failed' && <p className="error" data-testid="file-failed">{f.reason ?? 'The transfer failed.'}</p>}
    </li>
  );
}

/** The transfers with one contact, newest last. */
export function FileList({ peer, peerName }: { peer: string; peerName: string }) {
  const load = useFiles((s) => s.load);
  const byId = useFiles((s) => s.byId);
  useEffect(() => {
    void load(peer);
  }, [peer, load]);
  const files = useMemo(() => Object.values(byId).filter((f) => f.peer === peer).slice(-20), [byId, peer]);
  if (files.length === 0) return null;
  return <ul className="file-list" aria-label="File transfers" data-testid="file-list">{files.map((f) => <FileCard key={f.id} f={f} peerName={peerName} />)}</ul>;
}

/** A file button, and the drop target around the chat. */
export function useFileDrop(peer: string) {
  const send = useFiles((s) => s.send);
  const [over, setOver] = useState(false);
  const onDragOver = (e: DragEvent) => {
    if (!e.dataTransfer.types.includes('Files')) return;
    e.preventDefault();
    setOver(true);
  };
  const onDragLeave = () => setOver(false);
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    for (const file of Array.from(e.dataTransfer.files)) void send(peer, file);
  };
  return { over, handlers: { onDragOver, onDragLeave, onDrop } };
}

export function FileButton({ peer, peerName }: { peer: string; peerName: string }) {
  const send = useFiles((s) => s.send);
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <input ref={input} type="file" multiple hidden data-testid="file-input" aria-label={`File to send to ${peerName}`}
        onChange={(e) => { for (const f of Array.from(e.target.files ?? [])) void send(peer, f); e.target.value = ''; }} />
      <button type="button" data-testid="file-button" onClick={() => input.current?.click()} aria-label={`Send a file to ${peerName}`}>Send file…</button>
    </>
  );
}
