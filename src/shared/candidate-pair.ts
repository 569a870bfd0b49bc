/**
 * The ICE candidate pair a connection is using, as the network panel and the `peers` op show it:
 * whether the peers reached each other directly on their own addresses (host), through their
 * NATs' public mappings (srflx / prflx), or through a TURN server (relay, and over which transport
 * the client reaches that server).
 *
 * Read from getStats() the same way in Chromium and @roamhq/wrtc: the transport report's
 * selectedCandidatePairId (Chromium can still call the carried pair `in-progress`), falling back
 * to a pair flagged `selected` (Firefox) or nominated and succeeded.
 */
import { z } from 'zod';

export const CANDIDATE_TYPES = ['host', 'srflx', 'prflx', 'relay'] as const;
export type CandidateType = (typeof CANDIDATE_TYPES)[number];

export interface CandidateInfo {
  type: CandidateType;
  /** Transport of the candidate itself (for a relay candidate: between the TURN server and the peer). */
  protocol: 'udp' | 'tcp';
  /** Relay candidates: how this client reaches its TURN server (udp, tcp or tls). */
  relayProtocol?: 'udp' | 'tcp' | 'tls';
  /** Absent where the browser hides it (a remote prflx address is empty in getStats). */
  address?: string;
  port?: number;
}

export interface CandidatePair {
  local: CandidateInfo;
  remote: CandidateInfo;
}

const zCandidate = z.object({
  type: z.enum(CANDIDATE_TYPES),
  protocol: z.enum(['udp', 'tcp']),
  relayProtocol: z.enum(['udp', 'tcp', 'tls']).optional(),
  address: z.string().min(1).max(64).optional(),
  port: z.number().int().min(0).max(65535).optional(),
}).strict();
/** A pair reported by the renderer's mesh (untrusted input to the host). */
export const zCandidatePair = z.object({ local: zCandidate, remote: zCandidate }).strict();

/** What getStats() resolves to, in both runtimes (a Map-like report of plain stats objects). */
export interface StatsLike {
  forEach(callback: (value: unknown) => void): void;
}

type Stat = Record<string, unknown> & { id?: unknown; type?: unknown };

export function selectedCandidatePair(report: StatsLike): CandidatePair | null {
  const byId = new Map<string, Stat>();
  const transports: Stat[] = [];
  const pairs: Stat[] = [];
  report.forEach((value) => {
    if (typeof value !== 'object' || value === null) return;
    const s = value as Stat;
    if (typeof s.id === 'string') byId.set(s.id, s);
    if (s.type === 'transport') transports.push(s);
    else if (s.type === 'candidate-pair') pairs.push(s);
  });
  let pair: Stat | undefined;
  for (const t of transports) {
    const id = t.selectedCandidatePairId;
    if (typeof id === 'string' && byId.has(id)) {
      pair = byId.get(id);
      break;
    }
  }
  pair ??= pairs.find((p) => p.selected === true) ?? pairs.find((p) => p.nominated === true && p.state === 'succeeded');
  if (!pair) return null;
  const local = candidateOf(byId.get(String(pair.localCandidateId)));
  const remote = candidateOf(byId.get(String(pair.remoteCandidateId)));
  return local && remote ? { local, remote } : null;
}

function candidateOf(s: Stat | undefined): CandidateInfo | null {
  if (!s) return null;
  const type = s.candidateType;
  const protocol = s.protocol;
  if (typeof type !== 'string' || !(CANDIDATE_TYPES as readonly string[]).includes(type)) return null;
  if (protocol !== 'udp' && protocol !== 'tcp') return null;
  const info: CandidateInfo = { type: type as CandidateType, protocol };
  const relay = s.relayProtocol;
  if (relay === 'udp' || relay === 'tcp' || relay === 'tls') info.relayProtocol = relay;
  const address = typeof s.address === 'string' ? s.address : typeof s.ip === 'string' ? s.ip : '';
  if (address.length > 0 && address.length <= 64) info.address = address;
  if (typeof s.port === 'number' && Number.isInteger(s.port) && s.port >= 0 && s.port <= 65535) info.port = s.port;
  return info;
}

export function sameCandidatePair(a: CandidatePair | null | undefined, b: CandidatePair | null | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** "srflx udp 203.0.113.7:5000 ↔ relay udp (TURN over tcp)": for logs and the panel. */
export function describeCandidatePair(p: CandidatePair): string {
  const side = (c: CandidateInfo): string =>
    `${c.type} ${c.protocol}${c.address ? ` ${c.address}${c.port !== undefined ? `:${c.port}` : ''}` : ''}${c.relayProtocol ? ` (TURN over ${c.relayProtocol})` : ''}`;
  return `${side(p.local)} ↔ ${side(p.remote)}`;
}
