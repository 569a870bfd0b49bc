/**
 * Host-side client of one WebSocket signal server (REACH-CONTRACT, DESIGN section 3): connects to
 * `{serverUrl}/{deviceId}`, answers the challenge, sends relay frames and emits what arrives.
 * Reconnects with the DESIGN backoff (1, 2, 4 … 32 s, jitter) and queues outgoing frames while
 * disconnected (bounded: the oldest are dropped and counted). Frame bodies are opaque here; the
 * caller seals and signs them exactly as for MQTT. ws disables Nagle on its sockets (setNoDelay).
 * Sends are paced below the server's per-connection frame limit (SIGNAL_LIMITS: burst, then a
 * rate), so a burst (a start with many contacts: an offer and its candidates each) waits a few
 * hundred ms instead of being refused with RATE_LIMITED and losing offers.
 */
import WebSocket from 'ws';
import { backoffDelay, type BackoffOptions } from '../../shared/backoff';
import type { Signer } from '../../shared/crypto';
import type { Identity } from '../../shared/identity';
import { RejectCounter, type RejectCode } from '../../shared/errors';
import {
  parseServerFrame, signalAddrFor, signSignalAuth, SIGNAL_CLOSE, SIGNAL_LIMITS,
  type DeliveredFrame, type ErrorFrame, type RelayFrame,
} from '../../shared/schemas/signal-ws';
import { TypedEmitter } from '../../shared/typed-emitter';
import type { SignalingState } from './mqtt-signaling';

export const WS_SIGNAL_MAX_QUEUED = 256;
/** Below the server's limits: the AUTH frame and clock differences must not tip a burst over them. */
export const WS_SIGNAL_PACE = { burst: SIGNAL_LIMITS.frameBurst - 10, perSecond: SIGNAL_LIMITS.framesPerSecond * 0.9 } as const;

export interface WsSignalClientOptions {
  /** `ws://host:port` (or wss://…), without the deviceId. */
  serverUrl: string;
  deviceId: string;
  identity: Identity;
  signer: Signer;
  maxQueued?: number;
  /** Client-side pacing; default just under the server's SIGNAL_LIMITS. `false` sends at once. */
  pace?: { burst: number; perSecond: number } | false;
  backoff?: BackoffOptions;
  /** Give up on a connect attempt (open + CHALLENGE + READY) after this long. Default 10 s. */
  connectTimeoutMs?: number;
  /** Frames larger than this are refused locally (the server would refuse them anyway). */
  maxFrameBytes?: number;
  now?: () => number;
}

export interface WsSignalEvents extends Record<string, unknown> {
  frame: DeliveredFrame;
  /** Typed ERROR frames: NOT_ATTACHED (with `to`, `ref`), RATE_LIMITED, OVERSIZE, BAD_FRAME, … */
  serverError: ErrorFrame;
  state: { state: SignalingState; attempt: number; reason?: string };
  rejected: { code: RejectCode; reason: string };
}

export interface WsSignalStats {
  state: SignalingState;
  attempt: number;
  queued: number;
  sent: number;
  received: number;
  droppedFromQueue: number;
  rejected: Record<string, number>;
}

/** Close codes after which retrying on the same deviceId cannot help. */
const PERMANENT_CLOSES = new Set<number>([SIGNAL_CLOSE.DEVICE_TAKEN, SIGNAL_CLOSE.REPLACED]);

export class WsSignalClient extends TypedEmitter<WsSignalEvents> {
  private ws: WebSocket | null = null;
  private state: SignalingState = 'offline';
  private attempt = 0;
  private stopped = true;
  private retryTimer: NodeJS.Timeout | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private drainTimer: NodeJS.Timeout | null = null;
  private tokens = 0;
  private tokensAt = 0;
  private readonly queue: string[] = [];
  private readonly rejects = new RejectCounter({ keepRecent: 10 });
  private sent = 0;
  private received = 0;
  private droppedFromQueue = 0;
  private readyWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  constructor(private readonly options: WsSignalClientOptions) {
    super();
  }

  /** This device's address on this server, as routes and announces carry it. */
  get signalAddr(): string {
    return signalAddrFor(this.options.serverUrl, this.options.deviceId);
  }

  get currentState(): SignalingState {
    return this.state;
  }

  /** Starts connecting; resolves at the first READY (rejects if stop() is called first). Keeps retrying on failure. */
  start(): Promise<void> {
    const ready = this.whenReady();
    if (this.stopped) {
      this.stopped = false;
      this.open();
    }
    return ready;
  }

  whenReady(): Promise<void> {
    if (this.state === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /**
   * Sends now when connected, else queues (oldest dropped past the cap). Returns false when the
   * frame is refused locally (too large) and will never be sent.
   */
  send(frame: RelayFrame): boolean {
    const text = JSON.stringify(frame);
    const limit = this.options.maxFrameBytes ?? SIGNAL_LIMITS.maxFrameBytes;
    if (Buffer.byteLength(text) > limit) {
      this.reject('OVERSIZE', `outgoing ${frame.type} of ${Buffer.byteLength(text)} bytes > ${limit}`);
      return false;
    }
    if (this.state === 'connected' && this.ws?.readyState === WebSocket.OPEN && this.queue.length === 0 && this.take()) {
      this.ws.send(text);
      this.sent++;
      return true;
    }
    this.queue.push(text);
    if (this.state === 'connected' && this.ws) this.scheduleDrain(this.ws);
    const max = this.options.maxQueued ?? WS_SIGNAL_MAX_QUEUED;
    while (this.queue.length > max) {
      this.queue.shift();
      this.droppedFromQueue++;
    }
    return true;
  }

  stats(): WsSignalStats {
    return {
      state: this.state,
      attempt: this.attempt,
      queued: this.queue.length,
      sent: this.sent,
      received: this.received,
      droppedFromQueue: this.droppedFromQueue,
      rejected: this.rejects.snapshot(),
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(new Error('signal client stopped'));
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(1000, 'client stopping');
        setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000).unref();
      });
    }
    this.setState('offline');
  }

  private open(): void {
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const ws = new WebSocket(this.signalAddr, { perMessageDeflate: false, maxPayload: 4 * SIGNAL_LIMITS.maxFrameBytes });
    this.ws = ws;
    this.connectTimer = setTimeout(() => {
      if (this.ws === ws && this.state !== 'connected') ws.terminate();
    }, this.options.connectTimeoutMs ?? 10_000);
    ws.on('message', (data, isBinary) => {
      if (this.ws !== ws) return;
      if (isBinary) return this.reject('SCHEMA', 'binary frame from the signal server');
      this.onFrame(ws, data.toString());
    });
    ws.on('error', () => undefined); // 'close' follows and drives the retry
    ws.on('close', (code, reason) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.connectTimer) clearTimeout(this.connectTimer);
      if (this.drainTimer) clearTimeout(this.drainTimer);
      this.drainTimer = null;
      if (this.stopped) return;
      const why = `closed ${code}${reason.length ? `: ${reason.toString()}` : ''}`;
      if (PERMANENT_CLOSES.has(code)) {
        this.stopped = true;
        for (const waiter of this.readyWaiters.splice(0)) waiter.reject(new Error(`signal server: ${why}`));
        this.setState('offline', why);
        return;
      }
      this.scheduleRetry(why);
    });
  }

  private onFrame(ws: WebSocket, text: string): void {
    const parsed = parseServerFrame(text);
    if (!parsed.ok) return this.reject(parsed.code, parsed.reason);
    const frame = parsed.value;
    switch (frame.type) {
      case 'CHALLENGE':
        ws.send(JSON.stringify(signSignalAuth({ nonce: frame.nonce, deviceId: this.options.deviceId, ts: (this.options.now ?? Date.now)() }, this.options.identity, this.options.signer)));
        return;
      case 'READY':
        if (frame.userId !== this.options.identity.userId || frame.deviceId !== this.options.deviceId) {
          this.reject('UNAUTHORIZED', 'READY names another identity');
          ws.terminate();
          return;
        }
        if (this.connectTimer) clearTimeout(this.connectTimer);
        this.attempt = 0;
        const pace = this.pace();
        this.tokens = pace ? pace.burst : 0;
        this.tokensAt = this.now();
        this.setState('connected');
        this.flush(ws);
        for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
        return;
      case 'ERROR':
        this.emit('serverError', frame);
        return;
      default:
        this.received++;
        this.emit('frame', frame);
    }
  }

  private flush(ws: WebSocket): void {
    while (this.queue.length > 0 && ws.readyState === WebSocket.OPEN && this.ws === ws && this.take()) {
      ws.send(this.queue.shift()!);
      this.sent++;
    }
    if (this.queue.length > 0 && this.ws === ws && ws.readyState === WebSocket.OPEN) this.scheduleDrain(ws);
  }

  private pace(): { burst: number; perSecond: number } | null {
    const p = this.options.pace ?? WS_SIGNAL_PACE;
    return p === false ? null : p;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** One frame's worth of the pacing bucket, if there is one. */
  private take(): boolean {
    const pace = this.pace();
    if (!pace) return true;
    const now = this.now();
    this.tokens = Math.min(pace.burst, this.tokens + ((now - this.tokensAt) / 1000) * pace.perSecond);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private scheduleDrain(_ws: WebSocket): void {
    const pace = this.pace();
    if (this.drainTimer || !pace) return;
    const waitMs = Math.max(1, Math.ceil(((1 - this.tokens) / pace.perSecond) * 1000));
    this.drainTimer = setTimeout(() => {
      this.drainTimer = null;
      if (this.ws && this.state === 'connected') this.flush(this.ws);
    }, waitMs);
  }

  private scheduleRetry(reason: string): void {
    const delay = backoffDelay(this.attempt, this.options.backoff);
    this.attempt++;
    this.setState('reconnecting', reason);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.open();
    }, delay);
  }

  private setState(state: SignalingState, reason?: string): void {
    if (state === this.state && reason === undefined) return;
    this.state = state;
    this.emit('state', { state, attempt: this.attempt, ...(reason !== undefined ? { reason } : {}) });
  }

  private reject(code: RejectCode, reason: string): void {
    this.rejects.count(code, reason);
    this.emit('rejected', { code, reason });
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.connectTimer) clearTimeout(this.connectTimer);
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.retryTimer = null;
    this.connectTimer = null;
    this.drainTimer = null;
  }
}
