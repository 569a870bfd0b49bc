/**
 * One RTCPeerConnection to one peer, its 'msg' data channel, and perfect negotiation
 * (W3C webrtc-pc §10.7 pattern, DESIGN §4): polite = lexicographically lower userId.
 *
 * Adapted so it also runs on @roamhq/wrtc, which has neither parameterless setLocalDescription()
 * nor implicit rollback in setRemoteDescription(): offers and answers are created explicitly and
 * the polite side rolls back explicitly. The 'msg' channel is pre-negotiated (id 0), so both sides
 * create it and glare can never produce a second channel.
 *
 * A session never reconnects itself; the Mesh replaces the whole session on loss.
 */
import { MAX_FRAME_BYTES, fitsFrame } from './frame';
import {
  type CandidatePayload,
  type DescriptionPayload,
  type SignalKind,
  candidateUfrag,
  sdpIceUfrags,
  sdpOrigin,
} from './signals';

export const MESSAGE_CHANNEL_LABEL = 'msg';
const MESSAGE_CHANNEL_ID = 0;
const MAX_PENDING_CANDIDATES = 64;
/**
 * Candidates travel inside the description where they can (issue 11, setup): each trickled one
 * is a signaling message of its own (sealed, signed, relayed by the broker and opened), and in
 * wrtc the description read after setLocalDescription usually already holds the host candidates
 * whose events follow, so they were sent twice. A new local description therefore waits at most
 * this long for its first local candidates (host ones come in one burst about a millisecond
 * after setLocalDescription here), leaves one turn after the first of them, and no candidate it
 * carries is trickled again; anything gathered later (TCP, server-reflexive, relay) trickles.
 */
export const CANDIDATE_HOLD_MS = 10;

type NextTurn = (fn: () => void) => void;
// Node's setImmediate runs after the pending native callbacks (the rest of the burst); browsers have none.
const nextTurn: NextTurn = (() => {
  const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;
  return immediate ? (fn) => void immediate(fn) : (fn) => void globalThis.setTimeout(fn, 0);
})();

interface CandidateHold {
  /** Local candidates seen while holding; the description sent carries them (or they trickle after it). */
  seen: RTCIceCandidateInit[];
  done: Promise<void>;
  release(): void;
}

export type SessionCounter =
  | 'glareRollbacks'
  | 'offersIgnored'
  | 'staleDescriptions'
  | 'candidatesIgnored'
  | 'candidatesBuffered'
  | 'framesDroppedOversize'
  | 'framesDroppedNotString'
  | 'negotiationErrors';

export type SessionReject = 'unexpected-answer' | 'bad-description' | 'bad-candidate' | 'candidate-overflow';

export interface SessionHooks {
  signal(kind: SignalKind, payload: DescriptionPayload | CandidatePayload): void;
  open(): void;
  frame(frame: string): void;
  /** The data channel closed or the connection closed without us closing it: the session is dead. */
  lost(reason: string): void;
  connectionState(state: RTCPeerConnectionState): void;
  remoteDescriptionApplied(): void;
  /** The peer opened an extra data channel (file transfers); the Mesh decides whether to keep it. */
  channel(channel: RTCDataChannel): void;
  count(counter: SessionCounter): void;
  reject(reason: SessionReject, detail: string): void;
}

export interface PeerSessionOptions {
  RTCPeerConnection: typeof RTCPeerConnection;
  iceServers: RTCIceServer[];
  polite: boolean;
  hooks: SessionHooks;
  maxFrameBytes?: number;
  /** Default CANDIDATE_HOLD_MS. */
  candidateHoldMs?: number;
}

export class PeerSession {
  readonly pc: RTCPeerConnection;
  readonly channel: RTCDataChannel;
  private readonly polite: boolean;
  private readonly hooks: SessionHooks;
  private readonly maxFrameBytes: number;
  private readonly candidateHoldMs: number;

  private makingOffer = false;
  private offerInFlight: Promise<void> = Promise.resolve();
  private ignoreOffer = false;
  private closed = false;
  private opened = false;
  /** Incoming descriptions and candidates are applied one at a time, in arrival order. */
  private incoming: Promise<void> = Promise.resolve();
  private pendingCandidates: RTCIceCandidateInit[] = [];
  private remoteSessionIdValue: string | null = null;
  /** o= line of the newest remote description applied: older ones arriving late are stale. */
  private remoteOrigin: { sessionId: string; version: bigint } | null = null;
  /** Remote offers received but not yet applied: our own offer would only cause needless glare. */
  private remoteOffersQueued = 0;
  private remoteUfrags = new Set<string>();
  private hold: CandidateHold | null = null;
  /** Candidates (candidateKey) inside the local description sent last: not trickled a second time. */
  private described = new Set<string>();

  private channelOpen = false;

  constructor(opts: PeerSessionOptions) {
    this.polite = opts.polite;
    this.hooks = opts.hooks;
    this.maxFrameBytes = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.candidateHoldMs = opts.candidateHoldMs ?? CANDIDATE_HOLD_MS;
    this.pc = new opts.RTCPeerConnection({ iceServers: opts.iceServers });
    this.pc.addEventListener('negotiationneeded', () => void this.makeOffer());
    this.pc.addEventListener('icecandidate', (e: RTCPeerConnectionIceEvent) => this.onLocalCandidate(e.candidate));
    this.pc.addEventListener('icegatheringstatechange', () => {
      if (this.pc.iceGatheringState === 'complete') this.hold?.release();
    });
    this.pc.addEventListener('connectionstatechange', () => this.onConnectionStateChange());
    this.pc.addEventListener('datachannel', (e: RTCDataChannelEvent) => {
      if (this.closed || e.channel.label === MESSAGE_CHANNEL_LABEL) return;
      this.hooks.channel(e.channel);
    });
    // Creating the first data channel is what triggers 'negotiationneeded'.
    this.channel = this.pc.createDataChannel(MESSAGE_CHANNEL_LABEL, {
      negotiated: true,
      id: MESSAGE_CHANNEL_ID,
      ordered: true,
    });
    this.channel.addEventListener('open', () => {
      this.channelOpen = true;
      this.onChannelOpen();
    });
    this.channel.addEventListener('close', () => {
      this.channelOpen = false;
      this.onChannelClose();
    });
    this.channel.addEventListener('message', (e: MessageEvent) => this.onChannelMessage(e.data));
  }

  /** sess-id of the remote description applied last, i.e. which remote RTCPeerConnection we talk to. */
  get remoteSessionId(): string | null {
    return this.remoteSessionIdValue;
  }

  /**
   * Tracked from the channel's open/close events: reading `readyState` crosses into native code
   * in @roamhq/wrtc and showed up as ~10% of CPU per message in the chat throughput profile.
   */
  get isOpen(): boolean {
    return !this.closed && this.channelOpen;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Queues a remote description (already shape-checked). */
  handleDescription(description: { type: 'offer' | 'answer'; sdp: string }): Promise<void> {
    if (description.type !== 'offer') return this.enqueue(() => this.applyDescription(description));
    this.remoteOffersQueued++;
    return this.enqueue(async () => {
      this.remoteOffersQueued--;
      await this.applyDescription(description);
    });
  }

  /** Queues a remote candidate (already shape-checked); null means end of candidates and is not needed. */
  handleCandidate(candidate: RTCIceCandidateInit | null): Promise<void> {
    if (candidate === null || !candidate.candidate) return Promise.resolve();
    return this.enqueue(() => this.applyCandidate(candidate));
  }

  /** Candidates that arrived before this session existed (e.g. reordered ahead of the offer). */
  adoptEarlyCandidates(candidates: RTCIceCandidateInit[]): void {
    for (const c of candidates) void this.handleCandidate(c);
  }

  send(frame: string): boolean {
    if (!this.isOpen) return false;
    try {
      this.channel.send(frame);
      return true;
    } catch {
      return false; // the channel closed under us; 'close' follows
    }
  }

  get bufferedAmount(): number {
    return this.closed ? 0 : this.channel.bufferedAmount;
  }

  /** An extra reliable, ordered channel on this connection; it dies with the connection. */
  openChannel(label: string): RTCDataChannel | null {
    if (!this.isOpen) return null;
    try {
      return this.pc.createDataChannel(label, { ordered: true });
    } catch {
      return null;
    }
  }

  restartIce(): void {
    if (this.closed) return;
    try {
      this.pc.restartIce();
    } catch {
      this.hooks.count('negotiationErrors');
    }
  }

  /** Closes for good; no hook fires after this. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.dropHold();
    try {
      this.channel.close();
    } catch {
      /* already closing */
    }
    try {
      this.pc.close();
    } catch {
      /* already closed */
    }
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.incoming.then(() => (this.closed ? undefined : task()));
    this.incoming = run.catch(() => undefined);
    return run;
  }

  private async makeOffer(): Promise<void> {
    // A queued remote offer negotiates the pre-negotiated channel too; if anything is still
    // missing afterwards, 'negotiationneeded' fires again once we are back in 'stable'.
    if (this.closed || this.remoteOffersQueued > 0) return;
    let done!: () => void;
    this.offerInFlight = new Promise<void>((resolve) => (done = resolve));
    try {
      this.makingOffer = true;
      const offer = await this.pc.createOffer();
      // A remote offer was applied while ours was being created: it already negotiates the channel.
      if (this.closed || this.pc.signalingState !== 'stable') return;
      const gathered = this.holdCandidates();
      await this.pc.setLocalDescription(offer);
      await gathered.wait();
      if (this.closed) return;
      this.sendLocalDescription();
    } catch (error) {
      this.dropHold();
      if (!this.closed) this.hooks.count('negotiationErrors');
    } finally {
      this.makingOffer = false;
      done();
    }
  }

  /**
   * Starts holding local candidates back (call it before setLocalDescription, which starts
   * gathering). `wait()` resolves one turn after the first candidate, when gathering completes, or
   * candidateHoldMs after it was called, whichever comes first. Never rejects.
   */
  private holdCandidates(): { wait(): Promise<void> } {
    this.hold?.release();
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    let timer: ReturnType<typeof globalThis.setTimeout> | undefined;
    const hold: CandidateHold = {
      seen: [],
      done,
      release: () => {
        if (timer !== undefined) globalThis.clearTimeout(timer);
        resolve();
      },
    };
    this.hold = hold;
    return {
      wait: () => {
        // Armed only now: the first setLocalDescription of a process can itself take longer than the cap.
        if (this.hold === hold && this.pc.iceGatheringState !== 'complete') timer = globalThis.setTimeout(hold.release, this.candidateHoldMs);
        else hold.release();
        return done;
      },
    };
  }

  /** No description follows (closed, or negotiation failed): let go of the hold, nothing to send. */
  private dropHold(): void {
    this.hold?.release();
    this.hold = null;
  }

  /** Sends the local description with the candidates gathered so far, then trickles any it lacks. */
  private sendLocalDescription(): void {
    const hold = this.hold;
    this.hold = null;
    hold?.release();
    const local = this.pc.localDescription;
    if (!local || (local.type !== 'offer' && local.type !== 'answer')) return;
    this.described = sdpCandidates(local.sdp);
    this.hooks.signal(local.type, { sdp: { type: local.type, sdp: local.sdp } });
    for (const candidate of hold?.seen ?? []) {
      if (candidate.candidate && !this.described.has(candidateKey(candidate.candidate))) this.hooks.signal('iceCandidate', { candidate });
    }
  }

  private async applyDescription(description: { type: 'offer' | 'answer'; sdp: string }): Promise<void> {
    const pc = this.pc;
    const origin = sdpOrigin(description.sdp);
    if (origin && this.remoteOrigin?.sessionId === origin.sessionId && origin.version <= this.remoteOrigin.version) {
      // A repeat, or a description the peer already superseded (e.g. its rolled-back offer, reordered).
      this.hooks.count('staleDescriptions');
      return;
    }
    const offerCollision = description.type === 'offer' && (this.makingOffer || pc.signalingState !== 'stable');
    this.ignoreOffer = !this.polite && offerCollision;
    if (this.ignoreOffer) {
      this.hooks.count('offersIgnored');
      // Our offer may have been sent while the peer was away; repeat it so the polite side can answer.
      if (!this.makingOffer && pc.signalingState === 'have-local-offer') this.sendLocalDescription();
      return;
    }
    if (description.type === 'answer' && pc.signalingState !== 'have-local-offer') {
      this.hooks.reject('unexpected-answer', `answer in signaling state ${pc.signalingState}`);
      return;
    }
    try {
      if (offerCollision) {
        // Polite side: let our own offer finish, then roll it back (wrtc has no implicit rollback).
        await this.offerInFlight;
        if (this.closed) return;
        if (pc.signalingState === 'have-local-offer') {
          await pc.setLocalDescription({ type: 'rollback' });
          this.hooks.count('glareRollbacks');
        }
      }
      await pc.setRemoteDescription(description);
    } catch (error) {
      if (!this.closed) this.hooks.reject('bad-description', `${description.type}: ${errorMessage(error)}`);
      return;
    }
    if (this.closed) return;
    this.remoteOrigin = origin;
    this.remoteSessionIdValue = origin?.sessionId ?? null;
    this.remoteUfrags = sdpIceUfrags(description.sdp);
    this.hooks.remoteDescriptionApplied();
    if (description.type === 'offer') {
      try {
        const answer = await pc.createAnswer();
        if (this.closed) return;
        const gathered = this.holdCandidates();
        await pc.setLocalDescription(answer);
        await gathered.wait();
        if (this.closed) return;
        this.sendLocalDescription();
      } catch (error) {
        this.dropHold();
        if (!this.closed) this.hooks.count('negotiationErrors');
        return;
      }
    }
    const early = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const candidate of early) await this.applyCandidate(candidate);
  }

  private async applyCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    if (this.closed) return;
    if (!this.pc.remoteDescription) {
      if (this.ignoreOffer) {
        this.hooks.count('candidatesIgnored');
      } else if (this.pendingCandidates.length >= MAX_PENDING_CANDIDATES) {
        this.hooks.reject('candidate-overflow', 'too many candidates before a remote description');
      } else {
        this.pendingCandidates.push(candidate);
        this.hooks.count('candidatesBuffered');
      }
      return;
    }
    const ufrag = candidateUfrag(candidate);
    if (ufrag !== null && this.remoteUfrags.size > 0 && !this.remoteUfrags.has(ufrag)) {
      this.hooks.count('candidatesIgnored'); // late candidate of a rolled-back or replaced description
      return;
    }
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (error) {
      if (this.closed) return;
      if (this.ignoreOffer) this.hooks.count('candidatesIgnored');
      else this.hooks.reject('bad-candidate', errorMessage(error));
    }
  }

  private onLocalCandidate(candidate: RTCIceCandidate | null): void {
    if (this.closed || !candidate || !candidate.candidate) return;
    const init: RTCIceCandidateInit = {
      candidate: candidate.candidate,
      sdpMid: candidate.sdpMid,
      sdpMLineIndex: candidate.sdpMLineIndex,
    };
    if (candidate.usernameFragment) init.usernameFragment = candidate.usernameFragment;
    const hold = this.hold;
    if (hold) {
      if (hold.seen.push(init) === 1) nextTurn(hold.release);
      return;
    }
    if (this.described.has(candidateKey(candidate.candidate))) return; // already inside the description sent
    this.hooks.signal('iceCandidate', { candidate: init });
  }

  private onConnectionStateChange(): void {
    if (this.closed) return;
    const state = this.pc.connectionState;
    if (state === 'closed') {
      this.hooks.lost('connection closed');
      return;
    }
    this.hooks.connectionState(state);
  }

  private onChannelOpen(): void {
    if (this.closed || this.opened) return;
    this.opened = true;
    this.hooks.open();
  }

  private onChannelClose(): void {
    if (this.closed) return;
    this.hooks.lost('data channel closed');
  }

  private onChannelMessage(data: unknown): void {
    if (this.closed) return;
    if (typeof data !== 'string') {
      this.hooks.count('framesDroppedNotString');
      return;
    }
    if (!fitsFrame(data, this.maxFrameBytes)) {
      this.hooks.count('framesDroppedOversize');
      return;
    }
    this.hooks.frame(data);
  }
}

/**
 * foundation, component, transport, priority, address and port: what names a candidate. The
 * event's text and the SDP line differ in their extensions (the event adds `ufrag`).
 */
function candidateKey(candidate: string): string {
  return candidate.split(' ', 6).join(' ');
}

/** The candidateKeys of the a=candidate lines of an SDP. */
function sdpCandidates(sdp: string): Set<string> {
  const found = new Set<string>();
  for (const line of sdp.split(/\r?\n/)) if (line.startsWith('a=candidate:')) found.add(candidateKey(line.slice(2)));
  return found;
}

function errorMessage(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 200);
}
