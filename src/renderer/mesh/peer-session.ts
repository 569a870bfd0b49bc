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
}

export class PeerSession {
  readonly pc: RTCPeerConnection;
  readonly channel: RTCDataChannel;
  private readonly polite: boolean;
  private readonly hooks: SessionHooks;
  private readonly maxFrameBytes: number;

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

  private channelOpen = false;

  constructor(opts: PeerSessionOptions) {
    this.polite = opts.polite;
    this.hooks = opts.hooks;
    this.maxFrameBytes = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.pc = new opts.RTCPeerConnection({ iceServers: opts.iceServers });
    this.pc.addEventListener('negotiationneeded', () => void this.makeOffer());
    this.pc.addEventListener('icecandidate', (e: RTCPeerConnectionIceEvent) => this.onLocalCandidate(e.candidate));
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
      await this.pc.setLocalDescription(offer);
      if (this.closed) return;
      this.sendLocalDescription();
    } catch (error) {
      if (!this.closed) this.hooks.count('negotiationErrors');
    } finally {
      this.makingOffer = false;
      done();
    }
  }

  private sendLocalDescription(): void {
    const local = this.pc.localDescription;
    if (!local || (local.type !== 'offer' && local.type !== 'answer')) return;
    this.hooks.signal(local.type, { sdp: { type: local.type, sdp: local.sdp } });
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
        await pc.setLocalDescription(answer);
        if (this.closed) return;
        this.sendLocalDescription();
      } catch (error) {
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

function errorMessage(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 200);
}
