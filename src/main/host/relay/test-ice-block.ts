/**
 * Test-only ICE filter (env PARLEY_TEST_ICE_BLOCK_FILE): the file lists userIds, one per line;
 * ICE candidates to and from them are dropped and candidate lines are cut from the SDP, so no
 * direct connection can form with them while the listed peers still signal normally. Deleting a
 * line lifts the block (read on every signal), which is how tests let a direct path appear later.
 * Without the variable nothing is filtered.
 */
import { readFileSync } from 'node:fs';
import type { SignalKind } from '../transport';

export class IceBlock {
  constructor(private readonly file: string | undefined = process.env.PARLEY_TEST_ICE_BLOCK_FILE) {}

  private blocks(peer: string): boolean {
    if (!this.file) return false;
    try {
      return readFileSync(this.file, 'utf8').split(/\s+/).includes(peer);
    } catch {
      return false;
    }
  }

  /** The payload to pass on, or null to drop it. */
  filter(peer: string, kind: SignalKind, payload: unknown): unknown {
    if (!this.file || !this.blocks(peer)) return payload;
    if (kind === 'iceCandidate') return null;
    const p = payload as { sdp?: { type?: string; sdp?: unknown } };
    if (typeof p?.sdp?.sdp !== 'string') return payload;
    return { ...p, sdp: { ...p.sdp, sdp: p.sdp.sdp.replace(/^a=(candidate|end-of-candidates).*\r?\n/gm, '') } };
  }
}
