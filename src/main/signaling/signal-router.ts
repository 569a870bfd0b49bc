/**
 * One signaling interface for the host over two transports (DESIGN section 3): the MQTT broker
 * (addressed by userId) and any number of WebSocket signal servers (addressed by deviceId). A
 * route names where a peer can be signaled; a new server named by a route is attached on demand
 * (at most `maxServers`, idle ones closed). Every body is the same sealed, signed envelope
 * (sealed-signal.ts); a reply goes back the way the peer's last message came.
 */
import type { Signer } from '../../shared/crypto';
import { DEFAULT_MAX_SKEW_MS } from '../../shared/envelope';
import { reject, type RejectCode, type Result } from '../../shared/errors';
import type { Identity } from '../../shared/identity';
import { ReplayGuard } from '../../shared/replay';
import type { SignalingBodies, MqttSignalingType } from '../../shared/schemas/signaling';
import { parseSignalAddr, signalAddrFor, type DeliveredFrame, type ErrorFrame, type RelayFrame } from '../../shared/schemas/signal-ws';
import { TypedEmitter } from '../../shared/typed-emitter';
import type { MqttSignaling, SignalingMessageEvent, SignalingState } from './mqtt-signaling';
import { openSignal, sealSignal } from './sealed-signal';

/** What the router needs of one signal-server connection (ws-signal-client.ts). */
export interface WsClientLike {
  readonly signalAddr: string;
  readonly currentState: SignalingState;
  start(): Promise<void>;
  stop(): Promise<void>;
  send(frame: RelayFrame): boolean;
  on(event: 'frame', listener: (f: DeliveredFrame) => void): () => void;
  on(event: 'serverError', listener: (f: ErrorFrame) => void): () => void;
  on(event: 'state', listener: (s: { state: SignalingState; attempt: number; reason?: string }) => void): () => void;
}
export type WsClientFactory = (serverUrl: string) => WsClientLike;

export type SignalVia = { kind: 'mqtt' } | { kind: 'ws'; serverUrl: string; deviceId: string };
export type RoutedSignal = SignalingMessageEvent & { via: SignalVia };

export interface SignalServerInfo {
  url: string;
  kind: 'mqtt' | 'ws';
  state: SignalingState;
  /** Configured in settings (kept open), or opened because a route named it. */
  home: boolean;
  lastUsed: number;
}

export interface SignalRouterEvents extends Record<string, unknown> {
  message: RoutedSignal;
  /** MQTT state while there is a broker, else the home signal server's. */
  state: { state: SignalingState; attempt: number };
  rejected: { code: RejectCode; reason: string; source: string };
  /** A signal server said the peer is not attached there: the attempt over that route is over. */
  routeFailed: { userId: string; reason: string };
  servers: SignalServerInfo[];
}

export interface SignalRouterOptions {
  identity: Identity;
  deviceId: string;
  signer: Signer;
  mqtt: MqttSignaling | null;
  mqttUrl: string | null;
  /** WebSocket signal servers this device stays attached to (settings, --signal). */
  homeSignalUrls: string[];
  wsFactory: WsClientFactory | null;
  maxServers?: number;
  idleCloseMs?: number;
  now?: () => number;
}

export const DEFAULT_MAX_SIGNAL_SERVERS = 4;
export const DEFAULT_IDLE_CLOSE_MS = 5 * 60_000;
const MAX_ROUTES = 4096;

const TO_WS = { offer: 'OFFER', answer: 'ANSWER', iceCandidate: 'ICE_CANDIDATE' } as const;
const FROM_WS = { OFFER: 'offer', ANSWER: 'answer', ICE_CANDIDATE: 'iceCandidate' } as const;
type WsCarried = keyof typeof TO_WS;

interface Attached {
  url: string;
  client: WsClientLike;
  home: boolean;
  lastUsed: number;
  offs: (() => void)[];
}

export class SignalRouter extends TypedEmitter<SignalRouterEvents> {
  private readonly now: () => number;
  private readonly servers = new Map<string, Attached>();
  /** userId → where to signal it (set by the discovery chain, or the way its last message came). */
  private readonly routes = new Map<string, SignalVia>();
  private readonly replay: ReplayGuard;
  private readonly maxServers: number;
  private readonly idleCloseMs: number;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;
  private started = false;
  private homeUrls: string[];

  constructor(private readonly opts: SignalRouterOptions) {
    super();
    this.now = opts.now ?? Date.now;
    this.maxServers = Math.max(1, opts.maxServers ?? DEFAULT_MAX_SIGNAL_SERVERS);
    this.idleCloseMs = opts.idleCloseMs ?? DEFAULT_IDLE_CLOSE_MS;
    this.homeUrls = [...opts.homeSignalUrls];
    this.replay = new ReplayGuard({ windowMs: 2 * DEFAULT_MAX_SKEW_MS, maxEntries: 100_000, now: this.now });
  }

  get mqtt(): MqttSignaling | null {
    return this.opts.mqtt;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const mqtt = this.opts.mqtt;
    if (mqtt) {
      mqtt.on('state', (s) => this.emit('state', s));
      mqtt.on('rejected', ({ code, reason }) => this.emit('rejected', { code, reason, source: 'mqtt' }));
      mqtt.on('message', (m) => {
        if (m.channel === 'inbox' && (m.type === 'offer' || m.type === 'answer' || m.type === 'iceCandidate')) this.noteInbound(m.from, { kind: 'mqtt' });
        this.emit('message', { ...m, via: { kind: 'mqtt' } });
      });
      mqtt.start();
    }
    for (const url of this.homeUrls) this.attach(url, true);
    this.sweepTimer = setInterval(() => this.closeIdle(), Math.min(60_000, Math.max(1_000, this.idleCloseMs / 4)));
    this.sweepTimer.unref?.();
  }

  /**
   * The user changed their own signal servers (settings): attach the new ones now; a removed
   * one stops being ours (no longer announced) and closes once idle, so a chat on it can finish.
   */
  setHomeServers(urls: readonly string[]): void {
    this.homeUrls = [...urls];
    if (!this.started) return;
    for (const server of this.servers.values()) {
      if (server.home && !urls.includes(server.url)) {
        server.home = false;
        server.lastUsed = this.now();
      }
    }
    for (const url of urls) this.attach(url, true);
    this.emit('servers', this.serverList());
  }

  /** This device's own addresses: where others can signal it. */
  signalAddrs(): string[] {
    const addrs = [...this.servers.values()].filter((s) => s.home).map((s) => s.client.signalAddr);
    if (this.opts.mqtt && this.opts.mqttUrl) addrs.push(mqttAddr(this.opts.mqttUrl, this.opts.identity.userId));
    return addrs;
  }

  serverList(): SignalServerInfo[] {
    const list: SignalServerInfo[] = [];
    if (this.opts.mqtt && this.opts.mqttUrl) {
      list.push({ url: this.opts.mqttUrl, kind: 'mqtt', state: this.opts.mqtt.connectionState, home: true, lastUsed: this.now() });
    }
    for (const s of this.servers.values()) list.push({ url: s.url, kind: 'ws', state: s.client.currentState, home: s.home, lastUsed: s.lastUsed });
    return list;
  }

  /** Where this peer is signaled now, as a signalAddr (null = the broker, undefined = no route yet). */
  routeOf(userId: string): string | null | undefined {
    const via = this.routes.get(userId);
    if (!via) return undefined;
    return via.kind === 'mqtt' ? null : signalAddrFor(via.serverUrl, via.deviceId);
  }

  /**
   * Signal `userId` at `signalAddr` from now on: a ws(s) address (attaching to its server if
   * needed), our broker's mqtt address, or null for "the broker we share". Refuses an address
   * this device cannot use, with a reason.
   */
  async useRoute(userId: string, signalAddr: string | null): Promise<Result<SignalVia>> {
    const via = this.resolve(signalAddr, userId);
    if (!via.ok) return via;
    if (via.value.kind === 'ws') {
      const server = this.attach(via.value.serverUrl, false);
      if (!server) return reject('UNAUTHORIZED', 'this device has no WebSocket signaling');
      server.lastUsed = this.now();
    }
    this.setRoute(userId, via.value);
    return via;
  }

  /** The parsed form of an address, or why it is unusable here. */
  resolve(signalAddr: string | null, userId: string): Result<SignalVia> {
    if (signalAddr === null) {
      return this.opts.mqtt ? { ok: true, value: { kind: 'mqtt' } } : reject('UNAUTHORIZED', 'no broker to signal over (--broker none)');
    }
    const ws = parseSignalAddr(signalAddr);
    if (ws) {
      if (!this.opts.wsFactory) return reject('UNAUTHORIZED', 'this device has no WebSocket signaling');
      return { ok: true, value: { kind: 'ws', serverUrl: ws.serverUrl, deviceId: ws.deviceId } };
    }
    if (this.opts.mqtt && this.opts.mqttUrl && signalAddr === mqttAddr(this.opts.mqttUrl, userId)) return { ok: true, value: { kind: 'mqtt' } };
    return reject('UNKNOWN_TYPE', `cannot signal over ${signalAddr.slice(0, 80)} (not a ws(s) signal server or our broker)`);
  }

  /**
   * Sends a signaling message. WebRTC negotiation follows the peer's route. Contact requests,
   * responses and mailbox nudges go to every place we know the peer: its WebSocket route (as a
   * NOTIFY frame) and the broker (whose persistent session keeps them for an offline peer).
   * Presence and heartbeats only exist on MQTT. False when there is no way to send it.
   */
  send<T extends MqttSignalingType>(to: string, type: T, body: SignalingBodies[T]): boolean {
    const route = this.routes.get(to);
    const via = route ?? (this.opts.mqtt ? { kind: 'mqtt' as const } : undefined);
    if (isWsCarried(type) && via?.kind === 'ws') return this.sendWs(to, via, TO_WS[type], body);
    let sent = false;
    if (isNotifyCarried(type) && route?.kind === 'ws') sent = this.sendWs(to, route, type, body);
    if (!this.opts.mqtt) return sent;
    this.opts.mqtt.send(to, type, body);
    return true;
  }

  /** A contact request, response or nudge over the peer's WebSocket route only; false without one. */
  notify<T extends NotifyCarried>(to: string, type: T, body: SignalingBodies[T]): boolean {
    const route = this.routes.get(to);
    return route?.kind === 'ws' ? this.sendWs(to, route, type, body) : false;
  }

  /**
   * A contact request, response or nudge to `userId` at one WebSocket address (without making it
   * the peer's route): a request may go to every address we heard of, only the real one can open it.
   */
  notifyAt<T extends NotifyCarried>(userId: string, signalAddr: string, type: T, body: SignalingBodies[T]): boolean {
    const ws = parseSignalAddr(signalAddr);
    if (!ws || !this.opts.wsFactory) return false;
    return this.sendWs(userId, { kind: 'ws', serverUrl: ws.serverUrl, deviceId: ws.deviceId }, type, body);
  }

  /** Whether this peer is signaled over a WebSocket signal server now. */
  hasWsRoute(userId: string): boolean {
    return this.routes.get(userId)?.kind === 'ws';
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    const servers = [...this.servers.values()];
    this.servers.clear();
    await Promise.all(servers.map((s) => this.detach(s)));
    await this.opts.mqtt?.stop();
  }

  // Presence follows the broker; without one there is none (a WebSocket server keeps no presence).
  watchPresence(userIds: Iterable<string>): void {
    this.opts.mqtt?.watchPresence(userIds);
  }
  unwatchPresence(userId: string): void {
    this.opts.mqtt?.unwatchPresence(userId);
  }
  get connectionState(): SignalingState {
    if (this.opts.mqtt) return this.opts.mqtt.connectionState;
    const home = [...this.servers.values()].find((s) => s.home);
    return home?.client.currentState ?? 'offline';
  }

  /** `type` is the signed envelope's type: a WebSocket frame type, or a NOTIFY-carried MQTT type. */
  private sendWs(to: string, via: Extract<SignalVia, { kind: 'ws' }>, type: WsFrameCarried | NotifyCarried, body: unknown): boolean {
    const server = this.attach(via.serverUrl, false);
    if (!server) return false;
    server.lastUsed = this.now();
    const envelope = sealSignal(to, type, body, this.opts.identity, this.opts.signer, this.now());
    const frameType = isNotifyCarried(type) ? 'NOTIFY' : type;
    return server.client.send({ type: frameType, to: via.deviceId, ref: to, body: envelope });
  }

  private attach(url: string, home: boolean): Attached | null {
    const known = this.servers.get(url);
    if (known) {
      known.home ||= home;
      return known;
    }
    if (!this.opts.wsFactory) return null;
    if (this.servers.size >= this.maxServers) this.evictOne();
    const client = this.opts.wsFactory(url);
    const server: Attached = { url, client, home, lastUsed: this.now(), offs: [] };
    server.offs.push(
      client.on('frame', (f) => this.onWsFrame(server, f)),
      client.on('serverError', (e) => this.onWsError(server, e)),
      client.on('state', (s) => {
        if (!this.opts.mqtt && server.home) this.emit('state', { state: s.state, attempt: s.attempt });
        this.emit('servers', this.serverList());
      }),
    );
    this.servers.set(url, server);
    client.start().catch(() => undefined); // state events say how it goes; it keeps retrying
    this.emit('servers', this.serverList());
    return server;
  }

  private evictOne(): void {
    const candidates = [...this.servers.values()].filter((s) => !s.home).sort((a, b) => a.lastUsed - b.lastUsed);
    const victim = candidates[0];
    if (victim) this.close(victim);
  }

  private closeIdle(): void {
    const cutoff = this.now() - this.idleCloseMs;
    for (const s of [...this.servers.values()]) if (!s.home && s.lastUsed < cutoff) this.close(s);
  }

  private close(server: Attached): void {
    this.servers.delete(server.url);
    for (const [userId, via] of this.routes) if (via.kind === 'ws' && via.serverUrl === server.url) this.routes.delete(userId);
    void this.detach(server);
    this.emit('servers', this.serverList());
  }

  private async detach(server: Attached): Promise<void> {
    for (const off of server.offs) off();
    await server.client.stop().catch(() => undefined);
  }

  private onWsFrame(server: Attached, frame: DeliveredFrame): void {
    server.lastUsed = this.now();
    const source = `ws:${server.url}`;
    let wsType: WsFrameCarried | NotifyCarried;
    if (frame.type === 'NOTIFY') {
      // The signed envelope inside says which notice it is; the signature covers that type.
      const inner = envelopeType(frame.body);
      if (inner === null || !isNotifyCarried(inner)) {
        this.emit('rejected', { code: 'UNKNOWN_TYPE', reason: `NOTIFY carrying ${String(inner).slice(0, 40)} is not handled`, source });
        return;
      }
      wsType = inner;
    } else if (frame.type in FROM_WS) wsType = frame.type as WsFrameCarried;
    else {
      this.emit('rejected', { code: 'UNKNOWN_TYPE', reason: `${frame.type} is not handled over WebSocket signaling`, source });
      return;
    }
    const opened = openSignal(frame.body, {
      identity: this.opts.identity, signer: this.opts.signer, now: this.now(), maxAgeMs: DEFAULT_MAX_SKEW_MS, maxSkewMs: DEFAULT_MAX_SKEW_MS,
      replay: this.replay, expectedType: wsType,
    });
    if (!opened.ok) {
      this.emit('rejected', { code: opened.code, reason: opened.reason, source });
      return;
    }
    const env = opened.value.env;
    // The server vouches for who attached; the signature for who wrote it. They must agree.
    if (env.from !== frame.fromUser) {
      this.emit('rejected', { code: 'UNAUTHORIZED', reason: `frame from ${frame.fromUser.slice(0, 8)} carries an envelope signed by ${env.from.slice(0, 8)}`, source });
      return;
    }
    const via: SignalVia = { kind: 'ws', serverUrl: server.url, deviceId: frame.from };
    this.noteInbound(env.from, via);
    const type = isNotifyCarried(wsType) ? wsType : FROM_WS[wsType];
    this.emit('message', { type, body: opened.value.body, from: env.from, id: env.id, ts: env.ts, channel: 'inbox', via } as RoutedSignal);
  }

  private onWsError(server: Attached, error: ErrorFrame): void {
    if (error.code !== 'NOT_ATTACHED') {
      this.emit('rejected', { code: error.code === 'OVERSIZE' ? 'OVERSIZE' : 'SCHEMA', reason: `signal server ${server.url}: ${error.code} ${error.reason ?? ''}`.trim(), source: `ws:${server.url}` });
      return;
    }
    for (const [userId, via] of this.routes) {
      if (via.kind === 'ws' && via.serverUrl === server.url && via.deviceId === error.to) {
        this.routes.delete(userId);
        this.emit('routeFailed', { userId, reason: `${error.to ?? 'device'} is not attached to ${server.url}` });
      }
    }
  }

  /** A peer's negotiation reached us this way: answer the same way unless a route says otherwise. */
  private noteInbound(userId: string, via: SignalVia): void {
    const current = this.routes.get(userId);
    if (current && sameVia(current, via)) return;
    this.setRoute(userId, via);
  }

  private setRoute(userId: string, via: SignalVia): void {
    this.routes.delete(userId);
    this.routes.set(userId, via);
    if (this.routes.size > MAX_ROUTES) this.routes.delete(this.routes.keys().next().value as string);
  }
}

function isWsCarried(type: string): type is WsCarried {
  return type in TO_WS;
}

/** MQTT types that also travel over WebSocket signal servers, inside a NOTIFY frame. */
const NOTIFY_CARRIED = ['contactRequest', 'contactResponse', 'mailbox'] as const;
export type NotifyCarried = (typeof NOTIFY_CARRIED)[number];
type WsFrameCarried = keyof typeof FROM_WS;

function isNotifyCarried(type: string): type is NotifyCarried {
  return (NOTIFY_CARRIED as readonly string[]).includes(type);
}

/** The `type` of a signed envelope, read before it is verified (openSignal checks it). */
function envelopeType(text: string): string | null {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string' ? (v as { type: string }).type : null;
  } catch {
    return null;
  }
}

function sameVia(a: SignalVia, b: SignalVia): boolean {
  if (a.kind !== b.kind) return false;
  return a.kind === 'mqtt' || (b.kind === 'ws' && a.serverUrl === b.serverUrl && a.deviceId === b.deviceId);
}

/** A broker address as routes carry it: the broker URL + `/` + the user's id. */
export function mqttAddr(brokerUrl: string, userId: string): string {
  return `${brokerUrl.replace(/\/+$/, '')}/${userId}`;
}
