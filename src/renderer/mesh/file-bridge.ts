/**
 * The renderer's half of bridged file channels (see src/main/host/files/remote-channels.ts): opens
 * and accepts the page's file data channels, passes their bytes to the host as bytes (at most
 * MAX_REPORTS_IN_FLIGHT calls outstanding, the rest queued in order), and tells the host how much
 * each channel has taken off its buffer when Chromium fires `bufferedamountlow`.
 */
import type { ApiArgs, MeshCommand } from '../../shared/api';
import { binaryOf, FILE_CHANNEL_LOW_WATER } from './file-channel';
import type { Mesh } from './mesh';

type Report = ApiArgs<'mesh.report'>;
type WithoutSession<T> = T extends unknown ? Omit<T, 'session'> : never;
type FileCommand = Extract<MeshCommand, { op: `file.${string}` }>;

const MAX_REPORTS_IN_FLIGHT = 32;
const ROOM_REPORT_STEP = 256 * 1024;
/** A channel holding bytes it has not sent on for this long is closed: the transfer resumes on a new one. */
const STALL_MS = 45_000;

interface Bridged { dc: RTCDataChannel; received: number; reported: number; lastConsumed: number; lastDrainAt: number }

export interface FileBridge {
  handle(cmd: FileCommand): void;
  close(): void;
}

export function startFileBridge(mesh: Mesh, report: (r: WithoutSession<Report>) => Promise<unknown>): FileBridge {
  const channels = new Map<string, Bridged>();
  let nextRemote = 1;
  let inFlight = 0;
  const queue: WithoutSession<Report>[] = [];

  const pump = (): void => {
    while (inFlight < MAX_REPORTS_IN_FLIGHT && queue.length > 0) {
      const r = queue.shift()!;
      inFlight++;
      void report(r).catch(() => undefined).finally(() => {
        inFlight--;
        pump();
      });
    }
  };
  const send = (r: WithoutSession<Report>): void => {
    queue.push(r);
    pump();
  };

  const reportRoom = (cid: string, b: Bridged, force: boolean): void => {
    const consumed = b.received - b.dc.bufferedAmount;
    if (!force && consumed - b.reported < ROOM_REPORT_STEP) return;
    b.reported = consumed;
    send({ kind: 'file.room', cid, consumed });
  };

  const wire = (cid: string, dc: RTCDataChannel): Bridged => {
    const b: Bridged = { dc, received: 0, reported: 0, lastConsumed: 0, lastDrainAt: Date.now() };
    channels.set(cid, b);
    dc.binaryType = 'arraybuffer';
    dc.bufferedAmountLowThreshold = FILE_CHANNEL_LOW_WATER;
    dc.addEventListener('bufferedamountlow', () => reportRoom(cid, b, true));
    dc.addEventListener('message', (e: MessageEvent) => {
      const d = binaryOf(e.data);
      if (d !== null && typeof d !== 'string') send({ kind: 'file.data', cid, data: d });
    });
    dc.addEventListener('close', () => {
      if (channels.get(cid) !== b) return;
      channels.delete(cid);
      send({ kind: 'file.closed', cid });
    });
    return b;
  };

  // Safety net where bufferedamountlow never fires (@roamhq/wrtc in tests) or an event is missed.
  const poll = setInterval(() => {
    const now = Date.now();
    for (const [cid, b] of channels) {
      const consumed = b.received - b.dc.bufferedAmount;
      if (consumed > b.reported) reportRoom(cid, b, true);
      if (consumed > b.lastConsumed || b.dc.bufferedAmount === 0) {
        b.lastConsumed = consumed;
        b.lastDrainAt = now;
      } else if (now - b.lastDrainAt > STALL_MS) {
        // Stopped draining: close it rather than leave the transfer hanging; the host sees the
        // channel closed and the receiver asks for the rest on a fresh one.
        channels.delete(cid);
        b.dc.close();
        send({ kind: 'file.closed', cid });
      }
    }
  }, 100);

  const offChannel = mesh.on('channel', (userId, dc) => {
    const cid = `r${nextRemote++}`;
    wire(cid, dc);
    send({ kind: 'file.incoming', cid, userId, label: dc.label });
  });

  return {
    handle(cmd) {
      switch (cmd.op) {
        case 'file.open': {
          const dc = mesh.openChannel(cmd.userId, cmd.label);
          if (!dc) {
            send({ kind: 'file.closed', cid: cmd.cid });
            return;
          }
          wire(cmd.cid, dc);
          // @roamhq/wrtc reports a new channel on a live connection as open at once, without an event.
          if (dc.readyState === 'open') send({ kind: 'file.opened', cid: cmd.cid });
          else dc.addEventListener('open', () => send({ kind: 'file.opened', cid: cmd.cid }));
          return;
        }
        case 'file.data': {
          const b = channels.get(cmd.cid);
          if (!b || b.dc.readyState !== 'open') return;
          const bytes = cmd.data;
          try {
            b.dc.send(bytes as Uint8Array<ArrayBuffer>);
          } catch {
            return;
          }
          b.received += bytes.length;
          // Credit flows back as the channel drains, not only when it is nearly empty: the host's
          // next chunks need a bridge crossing to get here.
          reportRoom(cmd.cid, b, false);
          return;
        }
        case 'file.close': {
          const b = channels.get(cmd.cid);
          channels.delete(cmd.cid);
          b?.dc.close();
          return;
        }
      }
    },
    close() {
      clearInterval(poll);
      offChannel();
      for (const b of channels.values()) b.dc.close();
      channels.clear();
    },
  };
}
