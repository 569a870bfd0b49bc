/**
 * Shape checks for the WebRTC signaling payloads the mesh accepts. The host has already verified
 * who sent them; this only guarantees that nothing malformed reaches RTCPeerConnection.
 */
import { z } from 'zod';

export type SignalKind = 'offer' | 'answer' | 'iceCandidate';
export const SIGNAL_KINDS: readonly SignalKind[] = ['offer', 'answer', 'iceCandidate'];

/** An SDP for one data channel is ~1 KiB; anything near this bound is not a real description. */
export const MAX_SDP_CHARS = 64 * 1024;
export const MAX_CANDIDATE_CHARS = 1024;

const zDescription = (type: 'offer' | 'answer') =>
  z.object({ sdp: z.object({ type: z.literal(type), sdp: z.string().min(1).max(MAX_SDP_CHARS) }) });

const zCandidateInit = z.object({
  candidate: z.string().max(MAX_CANDIDATE_CHARS),
  sdpMid: z.string().max(64).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(1023).nullable().optional(),
  usernameFragment: z.string().max(256).nullable().optional(),
});

const zCandidate = z.object({ candidate: zCandidateInit.nullable() });

export interface DescriptionPayload { sdp: { type: 'offer' | 'answer'; sdp: string } }
export interface CandidatePayload { candidate: RTCIceCandidateInit | null }

export type ParsedSignal =
  | { kind: 'offer' | 'answer'; description: { type: 'offer' | 'answer'; sdp: string } }
  | { kind: 'iceCandidate'; candidate: RTCIceCandidateInit | null };

export type SignalRejectReason = 'unknown-kind' | 'malformed-payload';

export function parseSignal(kind: unknown, payload: unknown):
  | { ok: true; signal: ParsedSignal }
  | { ok: false; reason: SignalRejectReason; detail: string } {
  if (kind === 'offer' || kind === 'answer') {
    const parsed = zDescription(kind).safeParse(payload);
    if (!parsed.success) return { ok: false, reason: 'malformed-payload', detail: summarize(parsed.error) };
    return { ok: true, signal: { kind, description: parsed.data.sdp } };
  }
  if (kind === 'iceCandidate') {
    const parsed = zCandidate.safeParse(payload);
    if (!parsed.success) return { ok: false, reason: 'malformed-payload', detail: summarize(parsed.error) };
    const c = parsed.data.candidate;
    if (c === null) return { ok: true, signal: { kind, candidate: null } };
    const init: RTCIceCandidateInit = { candidate: c.candidate };
    if (c.sdpMid !== undefined) init.sdpMid = c.sdpMid;
    if (c.sdpMLineIndex !== undefined) init.sdpMLineIndex = c.sdpMLineIndex;
    if (c.usernameFragment !== undefined) init.usernameFragment = c.usernameFragment;
    return { ok: true, signal: { kind, candidate: init } };
  }
  return { ok: false, reason: 'unknown-kind', detail: `unknown signal kind ${describeKind(kind)}` };
}

/** A hostile `kind` may be any value, including objects whose toString throws or is not a function. */
function describeKind(kind: unknown): string {
  if (typeof kind === 'string') return JSON.stringify(kind).slice(0, 40);
  if (kind === null || typeof kind !== 'object') return typeof kind === 'function' ? 'a function' : String(kind).slice(0, 40);
  return Array.isArray(kind) ? 'an array' : 'an object';
}

function summarize(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; ').slice(0, 200);
}

/**
 * The o= line's sess-id stays fixed for the lifetime of one RTCPeerConnection (RFC 3264 / JSEP)
 * and changes when the remote side recreates its connection: that is how a description for a
 * new remote connection is told apart from a renegotiation (e.g. an ICE restart) of the current one.
 */
export function sdpSessionId(sdp: string): string | null {
  return sdpOrigin(sdp)?.sessionId ?? null;
}

/** sess-id and sess-version of the o= line; the version grows with every description a connection makes. */
export function sdpOrigin(sdp: string): { sessionId: string; version: bigint } | null {
  const match = /^o=\S+ (\d{1,40}) (\d{1,40}) /m.exec(sdp);
  if (!match?.[1] || !match[2]) return null;
  return { sessionId: match[1], version: BigInt(match[2]) };
}

/** The a=ice-ufrag of a description, to tell a late candidate of a replaced connection from a current one. */
export function sdpIceUfrags(sdp: string): Set<string> {
  const ufrags = new Set<string>();
  for (const m of sdp.matchAll(/^a=ice-ufrag:(\S+)/gm)) if (m[1]) ufrags.add(m[1]);
  return ufrags;
}

/** ufrag named in a candidate: the usernameFragment field, or the `ufrag` attribute of the candidate line. */
export function candidateUfrag(candidate: RTCIceCandidateInit): string | null {
  if (candidate.usernameFragment) return candidate.usernameFragment;
  const match = / ufrag (\S+)/.exec(candidate.candidate ?? '');
  return match?.[1] ?? null;
}
