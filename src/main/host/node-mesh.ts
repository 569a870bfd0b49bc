/** The mesh for processes without a browser: the same Mesh code on @roamhq/wrtc. */
import wrtc from '@roamhq/wrtc';
import { Mesh } from '../../renderer/mesh';
import type { MeshFactory } from './transport';

/** How long a closed connection stays referenced, and how many may wait at once. */
export const RETIRE_MS = 30_000;
export const MAX_RETIRED = 64;

/**
 * @roamhq/wrtc has been seen to fault natively when a closed RTCPeerConnection is
 * garbage-collected while its native side is still tearing down (a test worker crashed under
 * heavy churn until the harness kept connections referenced). Closed connections are therefore
 * kept referenced for RETIRE_MS before the collector may have them, in a bounded pool so a peer
 * that reconnects often cannot grow it without limit.
 */
export class RetiredConnections {
  private readonly retired: { pc: unknown; at: number }[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly retireMs = RETIRE_MS, private readonly max = MAX_RETIRED, private readonly now = Date.now) {}

  add(pc: unknown): void {
    this.retired.push({ pc, at: this.now() });
    if (this.retired.length > this.max) this.retired.shift();
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), Math.max(1000, this.retireMs / 4));
      this.timer.unref?.();
    }
  }

  get size(): number {
    return this.retired.length;
  }

  sweep(): void {
    const cutoff = this.now() - this.retireMs;
    while (this.retired.length > 0 && this.retired[0]!.at <= cutoff) this.retired.shift();
    if (this.retired.length === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

export const retiredConnections = new RetiredConnections();

const WrtcPeerConnection = wrtc.RTCPeerConnection as unknown as typeof RTCPeerConnection;

class RetiringPeerConnection extends WrtcPeerConnection {
  private retired = false;

  override close(): void {
    super.close();
    if (this.retired) return;
    this.retired = true;
    retiredConnections.add(this);
  }
}

export const nodeMeshFactory: MeshFactory = (signaling, selfId, iceServers, discovery) =>
  new Mesh({ selfId, signaling, iceServers, RTCPeerConnection: RetiringPeerConnection, ...(discovery ? { discovery } : {}) });
