/**
 * The WebRTC mesh: one PeerSession (RTCPeerConnection + 'msg' channel) per peer, connection
 * states of DESIGN §4, and reconnection with backoff (1, 2, 4, 8, 16 s, then FAILED until retry()).
 *
 * Runtime-agnostic: the RTCPeerConnection constructor, the timers and the signaling transport are
 * injected, so the same code runs in Chromium/Electron and in Node with @roamhq/wrtc.
 *
 * Convergence when both sides reconnect at once: within one pair of fresh connections perfect
 * negotiation resolves glare; across connections, an offer whose SDP session id differs from the
 * one we are connected to means the peer replaced its RTCPeerConnection, so we replace ours and
 * answer it, and descriptions from a replaced remote connection are dropped.
 */
import type { ConnectionState } from '../../shared/api';
import { type CandidatePair, sameCandidatePair, selectedCandidatePair } from '../../shared/candidate-pair';
import type { RouteTrace } from '../../shared/discovery';
import { monotonicNow, runChain, stepMs } from './discovery/runner';
import type { DiscoveryHost, DiscoveryStep } from './discovery/types';
import { ArgsEmitter } from '../../shared/typed-emitter';
import { MAX_FRAME_BYTES, fitsFrame } from './frame';
import { PeerSession, type SessionCounter } from './peer-session';
import { type SignalKind, parseSignal, sdpSessionId } from './signals';

export type { ConnectionState } from '../../shared/api';
export type { SignalKind } from './signals';

export const DEFAULT_RECONNECT_SCHEDULE_MS: readonly number[] = [1000, 2000, 4000, 8000, 16000];
export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
export const DEFAULT_DISCONNECT_GRACE_MS = 4_000;
export const DEFAULT_MAX_PEERS = 64;
/** After the reconnect schedule is used up, a peer nobody can find is looked for again this often. */
export const DEFAULT_REDISCOVER_MS = 30_000;
const MAX_EARLY_CANDIDATES_PER_PEER = 32;
const MAX_RETIRED_SESSIONS = 8;
const RECENT_REJECTS = 20;
/**
 * When the selected candidate pair is read after the channel opens (ms), then every PAIR_EVERY_MS:
 * ICE may switch pairs early (Chromium was seen moving from relay to srflx within 2-3 s).
 */
const PAIR_SAMPLES_MS: readonly number[] = [0, 1_000, 3_000, 10_000];
const PAIR_EVERY_MS = 30_000;

export interface MeshSignaling {
  /** payload: {sdp: RTCSessionDescriptionInit} or {candidate: RTCIceCandidateInit | null} */
  send(to: string, kind: SignalKind, payload: unknown): void;
}

export type TimerHandle = unknown;

export interface MeshOptions {
  selfId: string;
  RTCPeerConnection: typeof RTCPeerConnection;
  iceServers?: RTCIceServer[];
  signaling: MeshSignaling;
  /** Delay before reconnection attempt n (1-based) is schedule[n-1]; after the last one fails: FAILED. */
  reconnectScheduleMs?: number[];
  /** How long one attempt (offer → channel open) may take before it counts as failed. */
  connectTimeoutMs?: number;
  /** How long 'disconnected'/'failed' may last on an open connection before it is replaced. */
  disconnectGraceMs?: number;
  maxPeers?: number;
  maxFrameBytes?: number;
  /** How long a local description may wait for its first candidates (PeerSession CANDIDATE_HOLD_MS). */
  candidateHoldMs?: number;
  setTimeout?: (fn: () => void, ms: number) => TimerHandle;
  clearTimeout?: (handle: TimerHandle) => void;
  /** A listener threw; the mesh keeps going. Default: console.error. */
  onListenerError?: (error: unknown, event: string) => void;
  /**
   * The discovery chain (seed 004): with it, connect() first finds a route to the peer
   * (DISCOVERING), then signals over it. Without it the signaling transport is assumed to reach
   * every peer (tests, in-process meshes).
   */
  discovery?: MeshDiscoveryOptions;
}

export interface MeshDiscoveryOptions {
  host: DiscoveryHost;
  steps?: readonly DiscoveryStep[];
  /** Step cutoff = budget x slack + graceMs (see runner.ts). */
  slack?: number;
  graceMs?: number;
  rediscoverMs?: number;
}

export interface MeshStateEvent {
  userId: string;
  state: ConnectionState;
  /** 0 while connecting for the first time or connected; n during reconnection attempt n. */
  attempt: number;
}

export interface MeshPeer {
  userId: string;
  state: ConnectionState;
  attempt: number;
  /** The ICE candidate pair in use, once read from getStats() on an open connection. */
  candidatePair?: CandidatePair;
}

export type MeshEvents = {
  state: [MeshStateEvent];
  open: [userId: string];
  frame: [userId: string, frame: string];
  close: [userId: string];
  /** The open connection's selected ICE candidate pair was read for the first time or changed. */
  pair: [userId: string, pair: CandidatePair];
  /** The peer opened a channel whose label starts with an accepted prefix (EXTRA_CHANNEL_PREFIXES). */
  channel: [userId: string, channel: RTCDataChannel];
};

/** Labels of extra channels a peer may open; any other channel is closed and counted. */
export const EXTRA_CHANNEL_PREFIXES: readonly string[] = ['file:'];
const MAX_CHANNEL_LABEL_CHARS = 64;

export interface MeshStats extends Record<SessionCounter, number> {
  /** Signals refused (malformed, unexpected, stale, bogus candidate, …); reasons below. */
  signalsRejected: number;
  rejectReasons: Record<string, number>;
  framesSent: number;
  framesReceived: number;
  sendsRefusedOversize: number;
  connectionsCreated: number;
  connectionsClosed: number;
  attemptTimeouts: number;
  connectionsLost: number;
  remoteRestarts: number;
  peersRefused: number;
  listenerErrors: number;
  channelsOpened: number;
  channelsAccepted: number;
  channelsRefused: number;
}

interface PeerLink {
  readonly userId: string;
  state: ConnectionState;
  attempt: number;
  session: PeerSession | null;
  /** 'open' was emitted and 'close' not yet. */
  open: boolean;
  retryTimer: TimerHandle | null;
  attemptTimer: TimerHandle | null;
  graceTimer: TimerHandle | null;
  pairTimer: TimerHandle | null;
  /** The selected candidate pair of the open connection, as last read. */
  pair: CandidatePair | null;
  /** SDP session ids of remote connections the peer has replaced. */
  retiredRemoteSessions: string[];
  earlyCandidates: RTCIceCandidateInit[];
  /** Bumped whenever a chain run or attempt starts, so a superseded chain run stops. */
  discoveryGen: number;
  /** The last chain run's trace, until its attempt opens or fails. */
  trace: RouteTrace | null;
  /** Monotonic time (performance.now) the trace's chain started: connectMs is measured from it. */
  traceStart: number;
}

export class Mesh {
  private readonly selfId: string;
  private readonly Ctor: typeof RTCPeerConnection;
  private iceServers: RTCIceServer[];
  private readonly signaling: MeshSignaling;
  private readonly schedule: readonly number[];
  private readonly connectTimeoutMs: number;
  private readonly disconnectGraceMs: number;
  private readonly maxPeers: number;
  private readonly maxFrameBytes: number;
  private readonly candidateHoldMs: number | undefined;
  private readonly setTimer: (fn: () => void, ms: number) => TimerHandle;
  private readonly clearTimer: (handle: TimerHandle) => void;
  private readonly emitter: ArgsEmitter<MeshEvents>;
  private readonly links = new Map<string, PeerLink>();
  /** Candidates from peers we have no link with yet (reordered ahead of their offer). */
  private readonly orphanCandidates = new Map<string, RTCIceCandidateInit[]>();
  private readonly counters: MeshStats;
  private readonly recentRejects: { reason: string; detail: string }[] = [];
  private readonly discovery: MeshDiscoveryOptions | null;
  private closed = false;

  constructor(opts: MeshOptions) {
    if (!opts.selfId) throw new TypeError('Mesh: selfId is required');
    this.selfId = opts.selfId;
    this.Ctor = opts.RTCPeerConnection;
    this.iceServers = opts.iceServers ?? [];
    this.signaling = opts.signaling;
    this.schedule = opts.reconnectScheduleMs ?? DEFAULT_RECONNECT_SCHEDULE_MS;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.disconnectGraceMs = opts.disconnectGraceMs ?? DEFAULT_DISCONNECT_GRACE_MS;
    this.maxPeers = opts.maxPeers ?? DEFAULT_MAX_PEERS;
    this.maxFrameBytes = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.candidateHoldMs = opts.candidateHoldMs;
    this.discovery = opts.discovery ?? null;
    this.setTimer = opts.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms));
    this.clearTimer = opts.clearTimeout ?? ((h) => globalThis.clearTimeout(h as Parameters<typeof globalThis.clearTimeout>[0]));
    const onListenerError = opts.onListenerError ?? ((error, event) => console.error(`mesh: '${event}' listener threw`, error));
    this.emitter = new ArgsEmitter<MeshEvents>((error, event) => {
      this.counters.listenerErrors++;
      onListenerError(error, String(event));
    });
    this.counters = {
      signalsRejected: 0, rejectReasons: {}, framesSent: 0, framesReceived: 0, sendsRefusedOversize: 0,
      connectionsCreated: 0, connectionsClosed: 0, attemptTimeouts: 0, connectionsLost: 0, remoteRestarts: 0,
      peersRefused: 0, listenerErrors: 0, channelsOpened: 0, channelsAccepted: 0, channelsRefused: 0, glareRollbacks: 0, offersIgnored: 0, staleDescriptions: 0,
      candidatesIgnored: 0, candidatesBuffered: 0, framesDroppedOversize: 0, framesDroppedNotString: 0,
      negotiationErrors: 0,
    };
  }

  on<K extends keyof MeshEvents>(event: K, listener: (...args: MeshEvents[K]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  off<K extends keyof MeshEvents>(event: K, listener: (...args: MeshEvents[K]) => void): void {
    this.emitter.off(event, listener);
  }

  /** Starts connecting to a peer; does nothing if a link exists (also while FAILED: use retry()). */
  connect(peerId: string): void {
    if (this.closed) return;
    this.assertPeerId(peerId);
    if (this.links.has(peerId)) return;
    const link = this.createLink(peerId);
    if (!link) return;
    this.begin(link, 0);
  }

  /** Manual retry (the UI's Retry button): resets the attempt count and connects now. */
  retry(peerId: string): void {
    if (this.closed) return;
    this.assertPeerId(peerId);
    const link = this.links.get(peerId);
    if (!link) return this.connect(peerId);
    if (link.state === 'CONNECTED') return;
    this.begin(link, 0);
  }

  /** The host could not deliver signaling over the route in use (e.g. NOT_ATTACHED): give up this attempt now. */
  routeFailed(peerId: string): void {
    const link = this.links.get(peerId);
    if (!link || link.open || !link.session) return;
    this.connectionLost(link);
  }

  /** The trace of the last discovery run for this peer (null before any, or without discovery). */
  lastTrace(peerId: string): RouteTrace | null {
    const trace = this.links.get(peerId)?.trace;
    return trace ? { ...trace, steps: trace.steps.map((s) => ({ ...s })) } : null;
  }

  /**
   * Applies a signaling message from a peer. The host has verified the sender; this checks the
   * payload's shape and the message's place in the negotiation, and counts whatever it refuses.
   * Never throws.
   */
  async handleSignal(from: string, kind: SignalKind, payload: unknown): Promise<void> {
    if (this.closed) return;
    if (typeof from !== 'string' || from.length === 0 || from.length > 256 || from === this.selfId) {
      this.reject('bad-sender', 'sender id empty, too long or our own');
      return;
    }
    const parsed = parseSignal(kind, payload);
    if (!parsed.ok) {
      this.reject(parsed.reason, parsed.detail);
      return;
    }
    const signal = parsed.signal;
    let link = this.links.get(from);
    try {
      if (signal.kind === 'iceCandidate') {
        if (link?.session) await link.session.handleCandidate(signal.candidate);
        else if (signal.candidate) this.keepEarlyCandidate(from, link, signal.candidate);
        return;
      }
      const description = signal.description;
      const remoteSession = sdpSessionId(description.sdp);
      if (remoteSession === null) {
        this.reject('malformed-payload', 'SDP without an o= session id');
        return;
      }
      if (link?.retiredRemoteSessions.includes(remoteSession)) {
        this.reject('stale-session', `${description.type} from a replaced connection`);
        return;
      }
      if (description.type === 'answer') {
        if (!link?.session) {
          this.reject('unexpected-answer', 'answer without an offer');
          return;
        }
        await link.session.handleDescription(description);
        return;
      }
      const strangerOffer = !link;
      if (!link) {
        link = this.createLink(from) ?? undefined;
        if (!link) return;
      }
      const current = link.session?.remoteSessionId ?? null;
      if (!link.session) {
        // The peer reached out while we had no connection (new, backing off, or FAILED).
        this.startAttempt(link, link.state === 'RECONNECTING' ? link.attempt : 0);
      } else if (current !== null && current !== remoteSession) {
        this.counters.remoteRestarts++;
        this.retire(link, current);
        this.startAttempt(link, link.state === 'RECONNECTING' ? link.attempt : link.open ? 1 : 0);
      }
      const session = link.session;
      await session?.handleDescription(description);
      // A first offer we could not apply leaves nothing behind (no link, no reconnection attempts).
      if (strangerOffer && session && link.session === session && !session.pc.remoteDescription) this.disconnect(from);
    } catch (error) {
      // PeerSession reports its own failures through hooks; anything else is a bug, not a crash.
      this.reject('internal', error instanceof Error ? error.message : String(error));
    }
  }

  /** Sends one frame; false if the channel is not open or the frame is over the size limit. */
  send(peerId: string, frame: string): boolean {
    const session = this.links.get(peerId)?.session;
    if (!session?.isOpen) return false;
    if (typeof frame !== 'string' || !fitsFrame(frame, this.maxFrameBytes)) {
      this.counters.sendsRefusedOversize++;
      return false;
    }
    const sent = session.send(frame);
    if (sent) this.counters.framesSent++;
    return sent;
  }

  /**
   * Opens an extra reliable, ordered channel to a connected peer (one per file transfer, so chat
   * never queues behind a file: DESIGN section 4). Null if the peer is not connected.
   */
  openChannel(peerId: string, label: string): RTCDataChannel | null {
    if (!EXTRA_CHANNEL_PREFIXES.some((p) => label.startsWith(p)) || label.length > MAX_CHANNEL_LABEL_CHARS) {
      throw new TypeError(`Mesh: channel label ${JSON.stringify(label.slice(0, 70))} has no accepted prefix`);
    }
    const channel = this.links.get(peerId)?.session?.openChannel(label) ?? null;
    if (channel) this.counters.channelsOpened++;
    return channel;
  }

  /** Bytes queued on the peer's channel (poll it: @roamhq/wrtc never fires bufferedamountlow). */
  bufferedAmount(peerId: string): number {
    return this.links.get(peerId)?.session?.bufferedAmount ?? 0;
  }

  /** Closes the connection to one peer and forgets it (no reconnection). */
  disconnect(peerId: string): void {
    const link = this.links.get(peerId);
    if (!link) return;
    this.clearTimers(link);
    this.dropSession(link);
    this.links.delete(peerId);
    this.orphanCandidates.delete(peerId);
    this.setState(link, 'DISCONNECTED', 0);
  }

  /** Closes every connection; the mesh is unusable afterwards. */
  close(): void {
    if (this.closed) return;
    for (const peerId of [...this.links.keys()]) this.disconnect(peerId);
    this.closed = true;
    this.orphanCandidates.clear();
    this.emitter.removeAll();
  }

  state(peerId: string): ConnectionState {
    return this.links.get(peerId)?.state ?? 'DISCONNECTED';
  }

  peers(): MeshPeer[] {
    return [...this.links.values()].map((l) => ({ userId: l.userId, state: l.state, attempt: l.attempt, ...(l.pair ? { candidatePair: l.pair } : {}) }));
  }

  stats(): MeshStats {
    return { ...this.counters, rejectReasons: { ...this.counters.rejectReasons } };
  }

  /** The last few refused signals with their reasons, for logs and diagnostics. */
  recentRejections(): { reason: string; detail: string }[] {
    return this.recentRejects.map((r) => ({ ...r }));
  }

  private assertPeerId(peerId: string): void {
    if (typeof peerId !== 'string' || peerId.length === 0 || peerId.length > 256) throw new TypeError('Mesh: bad peer id');
    if (peerId === this.selfId) throw new TypeError('Mesh: cannot connect to self');
  }

  private createLink(userId: string): PeerLink | null {
    if (this.links.size >= this.maxPeers) {
      this.counters.peersRefused++;
      this.reject('peer-limit', `already ${this.links.size} peers`);
      return null;
    }
    const link: PeerLink = {
      userId, state: 'DISCONNECTED', attempt: 0, session: null, open: false,
      retryTimer: null, attemptTimer: null, graceTimer: null, pairTimer: null, pair: null, retiredRemoteSessions: [], earlyCandidates: [],
      discoveryGen: 0, trace: null, traceStart: 0,
    };
    const orphans = this.orphanCandidates.get(userId);
    if (orphans) {
      link.earlyCandidates = orphans;
      this.orphanCandidates.delete(userId);
    }
    this.links.set(userId, link);
    return link;
  }

  /** Starts attempt n: through the discovery chain when there is one, else straight to signaling. */
  private begin(link: PeerLink, attempt: number): void {
    if (this.discovery) this.discover(link, attempt, this.discovery);
    else this.startAttempt(link, attempt);
  }

  /** DISCOVERING: runs the chain, then signals over the route it found, or waits in STORE_AND_FORWARD. */
  private discover(link: PeerLink, attempt: number, discovery: MeshDiscoveryOptions): void {
    this.clearTimers(link);
    this.dropSession(link);
    const gen = ++link.discoveryGen;
    const live = (): boolean => !this.closed && this.links.get(link.userId) === link && link.discoveryGen === gen;
    this.setState(link, 'DISCOVERING', attempt);
    const run = async (): Promise<void> => {
      const started = monotonicNow();
      const trace = await runChain(link.userId, {
        host: discovery.host, steps: discovery.steps, slack: discovery.slack, graceMs: discovery.graceMs, isCurrent: live,
      });
      if (!live()) return;
      link.trace = trace;
      link.traceStart = started;
      if (trace.route) {
        try {
          await discovery.host.useRoute(link.userId, trace.route);
        } catch (error) {
          trace.result = 'failed';
          trace.steps.push({ step: trace.winner ?? 'store', ms: 0, budgetMs: 0, outcome: 'error', detail: `could not use the route: ${error instanceof Error ? error.message : String(error)}`.slice(0, 200) });
        }
        if (!live()) return;
        discovery.host.report(trace);
        if (trace.result === 'connecting') {
          this.startAttempt(link, attempt);
          return;
        }
      } else discovery.host.report(trace);
      this.setState(link, 'FAILED', attempt);
      this.setState(link, 'STORE_AND_FORWARD', attempt);
      // Nobody knows a path now; look again later (the peer may come online somewhere).
      const next = attempt + 1;
      const delay = this.schedule[next - 1] ?? discovery.rediscoverMs ?? DEFAULT_REDISCOVER_MS;
      link.retryTimer = this.setTimer(() => {
        link.retryTimer = null;
        if (live() && !link.session) this.discover(link, Math.min(next, this.schedule.length + 1), discovery);
      }, delay);
    };
    run().catch((error: unknown) => this.reject('internal', `discovery: ${error instanceof Error ? error.message : String(error)}`));
  }

  /** Replaces the link's connection with a fresh one; attempt 0 is a first connection. */
  private startAttempt(link: PeerLink, attempt: number): void {
    this.clearTimers(link);
    this.dropSession(link);
    link.discoveryGen++;
    this.setState(link, attempt === 0 ? 'SIGNALING' : 'RECONNECTING', attempt);
    const session = this.createSession(link);
    link.session = session;
    const early = link.earlyCandidates;
    link.earlyCandidates = [];
    session.adoptEarlyCandidates(early);
    link.attemptTimer = this.setTimer(() => {
      link.attemptTimer = null;
      if (link.session !== session || session.isOpen) return;
      this.counters.attemptTimeouts++;
      this.connectionLost(link);
    }, this.connectTimeoutMs);
  }

  /** ICE servers for connections made from now on (fresh TURN credentials from the user's server). */
  setIceServers(servers: RTCIceServer[]): void {
    this.iceServers = [...servers];
  }

  private createSession(link: PeerLink): PeerSession {
    const userId = link.userId;
    const live = (): boolean => !this.closed && this.links.get(userId) === link && link.session === session;
    const session: PeerSession = new PeerSession({
      RTCPeerConnection: this.Ctor,
      iceServers: this.iceServers,
      polite: this.selfId < userId,
      maxFrameBytes: this.maxFrameBytes,
      ...(this.candidateHoldMs !== undefined ? { candidateHoldMs: this.candidateHoldMs } : {}),
      hooks: {
        signal: (kind, payload) => {
          if (live()) this.signaling.send(userId, kind, payload);
        },
        open: () => {
          if (live()) this.onOpen(link);
        },
        frame: (frame) => {
          if (!live()) return;
          this.counters.framesReceived++;
          this.emitter.emit('frame', userId, frame);
        },
        lost: () => {
          if (live()) this.connectionLost(link);
        },
        connectionState: (state) => {
          if (live()) this.onConnectionState(link, session, state);
        },
        remoteDescriptionApplied: () => {
          if (live() && link.state === 'SIGNALING') this.setState(link, 'CONNECTING', 0);
        },
        channel: (channel) => {
          const label = channel.label;
          if (!live() || label.length > MAX_CHANNEL_LABEL_CHARS || !EXTRA_CHANNEL_PREFIXES.some((p) => label.startsWith(p))) {
            this.counters.channelsRefused++;
            if (live()) this.reject('channel-refused', `channel ${JSON.stringify(label.slice(0, 70))}`);
            try { channel.close(); } catch { /* already closed */ }
            return;
          }
          this.counters.channelsAccepted++;
          this.emitter.emit('channel', userId, channel);
        },
        count: (counter) => {
          this.counters[counter]++;
        },
        reject: (reason, detail) => this.reject(reason, detail),
      },
    });
    this.counters.connectionsCreated++;
    return session;
  }

  private onOpen(link: PeerLink): void {
    this.clearTimers(link);
    link.open = true;
    this.finishTrace(link, 'connected');
    this.setState(link, 'CONNECTED', 0);
    this.emitter.emit('open', link.userId);
    this.samplePair(link, 0);
  }

  /** Reads the open connection's selected candidate pair now and again later (PAIR_SAMPLES_MS). */
  private samplePair(link: PeerLink, n: number): void {
    const session = link.session;
    if (!session || typeof session.pc.getStats !== 'function') return;
    const delay = n === 0 ? 0 : (PAIR_SAMPLES_MS[n] ?? PAIR_EVERY_MS) - (PAIR_SAMPLES_MS[n - 1] ?? 0);
    const read = (): void => {
      link.pairTimer = null;
      if (link.session !== session || !session.isOpen) return;
      session.pc.getStats().then((report) => {
        if (link.session !== session || !session.isOpen) return;
        const pair = selectedCandidatePair(report);
        if (pair && !sameCandidatePair(pair, link.pair)) {
          link.pair = pair;
          this.emitter.emit('pair', link.userId, pair);
        }
      }, () => undefined).finally(() => {
        if (link.session === session && session.isOpen && link.pairTimer === null) this.samplePair(link, n + 1);
      });
    };
    if (delay <= 0) read();
    // Plain timers: reading stats is not part of the connection schedule the injected timers drive.
    else link.pairTimer = globalThis.setTimeout(read, Math.max(0, delay));
  }

  private onConnectionState(link: PeerLink, session: PeerSession, state: RTCPeerConnectionState): void {
    if (state === 'connected') {
      if (link.graceTimer !== null) {
        this.clearTimer(link.graceTimer);
        link.graceTimer = null;
      }
      return;
    }
    if (state === 'connecting' && link.state === 'SIGNALING') {
      this.setState(link, 'CONNECTING', 0);
      return;
    }
    if (state !== 'disconnected' && state !== 'failed') return;
    if (state === 'failed') session.restartIce();
    // Before the channel opens, the attempt timer decides; afterwards give ICE a moment to recover.
    if (!link.open || link.graceTimer !== null) return;
    link.graceTimer = this.setTimer(() => {
      link.graceTimer = null;
      if (link.session === session && session.pc.connectionState !== 'connected') this.connectionLost(link);
    }, this.disconnectGraceMs);
  }

  /** The current connection is dead or the attempt failed: back off, then try again, or give up. */
  private connectionLost(link: PeerLink): void {
    this.counters.connectionsLost++;
    this.clearTimers(link);
    this.dropSession(link);
    this.finishTrace(link, 'failed');
    const next = link.attempt + 1;
    if (next > this.schedule.length) {
      this.setState(link, 'FAILED', link.attempt);
      return;
    }
    this.setState(link, 'RECONNECTING', next);
    link.retryTimer = this.setTimer(() => {
      link.retryTimer = null;
      if (this.links.get(link.userId) === link && !link.session) this.begin(link, next);
    }, this.schedule[next - 1] ?? 0);
  }

  /** The attempt a chain run started has opened or failed: tell the host (route cache, panel). */
  private finishTrace(link: PeerLink, result: 'connected' | 'failed'): void {
    const trace = link.trace;
    if (!trace || trace.result !== 'connecting' || !this.discovery) return;
    trace.result = result;
    if (result === 'connected') trace.connectMs = stepMs(monotonicNow() - link.traceStart);
    this.discovery.host.report({ ...trace, steps: trace.steps.map((s) => ({ ...s })) });
  }

  private dropSession(link: PeerLink): void {
    const session = link.session;
    if (!session) return;
    link.session = null;
    link.pair = null;
    session.close();
    this.counters.connectionsClosed++;
    if (link.open) {
      link.open = false;
      this.emitter.emit('close', link.userId);
    }
  }

  private retire(link: PeerLink, remoteSession: string): void {
    link.retiredRemoteSessions.push(remoteSession);
    if (link.retiredRemoteSessions.length > MAX_RETIRED_SESSIONS) link.retiredRemoteSessions.shift();
  }

  private keepEarlyCandidate(from: string, link: PeerLink | undefined, candidate: RTCIceCandidateInit): void {
    let buffer = link?.earlyCandidates ?? this.orphanCandidates.get(from);
    if (!buffer) {
      if (this.orphanCandidates.size >= this.maxPeers) {
        this.reject('candidate-overflow', 'too many peers with candidates but no offer');
        return;
      }
      buffer = [];
      this.orphanCandidates.set(from, buffer);
    }
    if (buffer.length >= MAX_EARLY_CANDIDATES_PER_PEER) {
      this.reject('candidate-overflow', 'too many candidates before an offer');
      return;
    }
    buffer.push(candidate);
    this.counters.candidatesBuffered++;
  }

  private clearTimers(link: PeerLink): void {
    for (const key of ['retryTimer', 'attemptTimer', 'graceTimer'] as const) {
      const handle = link[key];
      if (handle !== null) this.clearTimer(handle);
      link[key] = null;
    }
    if (link.pairTimer !== null) globalThis.clearTimeout(link.pairTimer as Parameters<typeof globalThis.clearTimeout>[0]);
    link.pairTimer = null;
  }

  private setState(link: PeerLink, state: ConnectionState, attempt: number): void {
    if (link.state === state && link.attempt === attempt) return;
    link.state = state;
    link.attempt = attempt;
    this.emitter.emit('state', { userId: link.userId, state, attempt });
  }

  private reject(reason: string, detail: string): void {
    this.counters.signalsRejected++;
    this.counters.rejectReasons[reason] = (this.counters.rejectReasons[reason] ?? 0) + 1;
    this.recentRejects.push({ reason, detail });
    if (this.recentRejects.length > RECENT_REJECTS) this.recentRejects.shift();
  }
}
