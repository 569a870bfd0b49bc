import { Socket } from 'node:net';
import { rootCertificates } from 'node:tls';
import { connect, Store, type IClientOptions, type MqttClient } from 'mqtt';
import { backoffDelay, type BackoffOptions } from '../../shared/backoff';
import type { Signer } from '../../shared/crypto';
import { decodeEnvelope, DEFAULT_MAX_SKEW_MS, encodeEnvelope, signEnvelope, type Envelope } from '../../shared/envelope';
import { reject, RejectCounter, type RejectCode, type Result } from '../../shared/errors';
import { isUserId, type Identity } from '../../shared/identity';
import { ReplayGuard } from '../../shared/replay';
import {
  parseSignalingBody,
  type MqttSignalingType,
  type SignalingBodies,
} from '../../shared/schemas/signaling';
import { makeLoginPassword, mqttClientId } from './mqtt-login';
import { MAX_SIGNALING_BYTES, openSignal, sealSignal } from './sealed-signal';
import { inboxFilter, inboxTopic, isMqttSignalingType, parseTopic, presenceTopic } from './topics';
import { withTimeout } from '../../shared/timeout';
import { TypedEmitter } from '../../shared/typed-emitter';

export { MAX_SIGNALING_BYTES };
/**
 * Contact requests and responses wait in the recipient's persistent session while it is offline, so
 * they are accepted for this long; SDP, ICE and liveness messages are useless (or harmful) once older
 * than the normal clock skew.
 */
export const CONTACT_MAX_AGE_MS = 30 * 24 * 3600 * 1000;
const MAX_QUEUED = 1000;
const REPLAY_MAX_ENTRIES = 100_000;

export type SignalingState = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export type MqttSignal = { [K in MqttSignalingType]: { type: K; body: SignalingBodies[K] } }[MqttSignalingType];

/**
 * A verified, decrypted, schema-valid signaling message. `channel` is 'inbox' for messages sent to
 * this user, 'presenceTopic' for a watched user's broadcast status (retained online / last-will offline).
 */
export type SignalingMessageEvent = MqttSignal & {
  from: string;
  id: string;
  ts: number;
  channel: 'inbox' | 'presenceTopic';
};

export interface SignalingEvents extends Record<string, unknown> {
  message: SignalingMessageEvent;
  state: { state: SignalingState; attempt: number };
  rejected: { code: RejectCode; reason: string; topic: string };
  /** Connection-level problems (refused login, socket errors); the client keeps retrying. */
  brokerError: { message: string; code?: number | string };
}

export interface MqttSignalingOptions {
  url: string;
  identity: Identity;
  deviceId: string;
  signer: Signer;
  now?: () => number;
  /** Accepted clock skew; also the maximum age of offer/answer/ICE/presence messages. Default 5 min. */
  maxSkewMs?: number;
  keepaliveSec?: number;
  connectTimeoutMs?: number;
  backoff?: BackoffOptions;
  /**
   * Extra CA certificate(s), PEM, trusted for mqtts:// and wss:// besides the system roots (a
   * deployment with its own CA). Certificates are always checked; there is no way to turn that off.
   */
  ca?: Buffer;
}

export interface SignalingStats {
  state: SignalingState;
  attempt: number;
  queued: number;
  sent: number;
  received: number;
  droppedFromQueue: number;
  rejectedTotal: number;
  rejected: Record<string, number>;
}

interface Outgoing {
  to: string;
  type: MqttSignalingType;
  body: unknown;
}

/**
 * MQTT signaling (DESIGN section 3): topics user/{userId}/{type}, QoS 1, persistent session with a
 * stable clientId, signed envelopes whose body is sealed to the recipient, own reconnect backoff and
 * an ordered outgoing queue.
 *
 * Presence broadcast: a will has a single topic, but inboxes are per recipient, so the will cannot be
 * addressed to contacts. Each client therefore owns `presence/{userId}`: on connect it publishes a
 * signed, retained `presence {online}` there and registers a signed, retained `presence {offline}`
 * will; a clean stop publishes `offline` itself. Contacts subscribe to that exact topic (watchPresence).
 * Receivers accept a status there only if it is signed by the topic's owner and strictly newer than
 * the last one accepted, so replayed old wills or statuses are rejected. The will is signed one
 * millisecond after the session's `online` status so that it supersedes it. This broadcast status is
 * signed but not encrypted: any logged-in user who knows a userId can see whether it is connected.
 */
export class MqttSignaling extends TypedEmitter<SignalingEvents> {
  readonly clientId: string;
  private readonly options: MqttSignalingOptions;
  private readonly now: () => number;
  private readonly maxSkewMs: number;
  private readonly counter = new RejectCounter();
  private readonly replay: ReplayGuard;
  private readonly queue: Outgoing[] = [];
  private readonly watched = new Set<string>();
  private readonly lastPresence = new Map<string, { id: string; ts: number }>();
  private client: MqttClient | null = null;
  // Kept across reconnects: mqtt.js resends unacknowledged QoS 1 messages from the outgoing store,
  // but its reconnect() starts with empty stores unless it is handed these. end() closes them, so a
  // start() after stop() needs new ones (stop() drops the queue anyway).
  private incomingStore = new Store();
  private outgoingStore = new Store();
  private state: SignalingState = 'offline';
  private attempt = 0;
  private started = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private lastSessionTs = 0;
  private sessionTs = 0;
  private sent = 0;
  private received = 0;
  private droppedFromQueue = 0;
  private unacked = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(options: MqttSignalingOptions) {
    super();
    if (!isUserId(options.identity.userId)) throw new Error('identity has no valid userId');
    this.options = options;
    this.now = options.now ?? Date.now;
    this.maxSkewMs = options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
    this.clientId = mqttClientId(options.identity.userId, options.deviceId);
    this.replay = new ReplayGuard({
      windowMs: CONTACT_MAX_AGE_MS + this.maxSkewMs,
      maxEntries: REPLAY_MAX_ENTRIES,
      now: this.now,
    });
  }

  get userId(): string {
    return this.options.identity.userId;
  }

  get connectionState(): SignalingState {
    return this.state;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.attempt = 0;
    if (!this.client) {
      this.incomingStore = new Store();
      this.outgoingStore = new Store();
    }
    this.setState('connecting');
    this.connectNow();
  }

  /** Resolves at the next 'connected' state (immediately if connected). */
  whenConnected(): Promise<void> {
    if (this.state === 'connected') return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.on('state', ({ state }) => {
        if (state === 'connected') {
          off();
          resolve();
        }
      });
    });
  }

  /**
   * Clean shutdown: publishes `offline` on the presence topic, then DISCONNECTs (which discards the
   * will). Messages still queued are dropped: the durable outbox belongs to the delivery layer.
   */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.clearReconnectTimer();
    const client = this.client;
    this.client = null;
    if (client) {
      if (client.connected) {
        try {
          await withTimeout(
            client.publishAsync(presenceTopic(this.userId), this.presencePayload('offline', Math.max(this.now(), this.sessionTs + 2)), {
              qos: 1,
              retain: true,
            }),
            2000,
          );
        } catch {
          // Best effort: contacts fall back on the heartbeat timeout.
        }
      }
      // A clean end waits for in-flight acks; do not let an unresponsive broker hang shutdown.
      await withTimeout(client.endAsync(!client.connected), 3000).catch(() => client.endAsync(true).catch(() => undefined));
      client.removeAllListeners();
    }
    this.queue.length = 0;
    this.unacked = 0;
    this.notifyIfIdle();
    this.setState('offline');
  }

  /** Queued while disconnected and flushed in order on reconnect; signed when actually published. */
  send<T extends MqttSignalingType>(to: string, type: T, body: SignalingBodies[T]): void {
    if (!isUserId(to)) throw new Error(`send: ${String(to).slice(0, 20)} is not a userId`);
    const valid = parseSignalingBody(type, body);
    if (!valid.ok) throw new Error(`send: invalid ${type} body: ${valid.reason}`);
    const item: Outgoing = { to, type, body };
    if (this.client?.connected && this.queue.length === 0) {
      this.publishNow(item);
      return;
    }
    this.queue.push(item);
    if (this.queue.length > MAX_QUEUED) {
      this.queue.shift();
      this.droppedFromQueue++;
    }
  }

  /** Resolves once everything sent so far has been handed to the broker and acknowledged (QoS 1). */
  flush(): Promise<void> {
    if (this.queue.length === 0 && this.unacked === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Follows the broadcast status (retained online / last-will offline) of these users. */
  watchPresence(userIds: Iterable<string>): void {
    for (const userId of userIds) {
      if (!isUserId(userId) || userId === this.userId || this.watched.has(userId)) continue;
      this.watched.add(userId);
      if (this.client?.connected) this.client.subscribe(presenceTopic(userId), { qos: 1 });
    }
  }

  unwatchPresence(userId: string): void {
    if (!this.watched.delete(userId)) return;
    this.lastPresence.delete(userId);
    if (this.client?.connected) this.client.unsubscribe(presenceTopic(userId));
  }

  stats(): SignalingStats {
    return {
      state: this.state,
      attempt: this.attempt,
      queued: this.queue.length,
      sent: this.sent,
      received: this.received,
      droppedFromQueue: this.droppedFromQueue,
      rejectedTotal: this.counter.total,
      rejected: this.counter.snapshot(),
    };
  }

  // ---- connection -------------------------------------------------------------------------

  private connectNow(): void {
    // Fresh per attempt: the login signature is only valid for 2 minutes, and the will must be
    // newer than any status this client published before.
    this.sessionTs = Math.max(this.now(), this.lastSessionTs + 3);
    this.lastSessionTs = this.sessionTs;
    // Brokers accept each (clientId, ts) once, so every attempt signs a strictly newer ts.
    const password = makeLoginPassword(this.options.identity, this.clientId, this.options.signer, this.sessionTs);
    const will = {
      topic: presenceTopic(this.userId),
      payload: this.presencePayload('offline', this.sessionTs + 1),
      qos: 1 as const,
      retain: true,
    };
    if (!this.client) {
      const options: IClientOptions = {
        clientId: this.clientId,
        username: this.userId,
        password,
        clean: false,
        protocolVersion: 4,
        keepalive: this.options.keepaliveSec ?? 30,
        connectTimeout: this.options.connectTimeoutMs ?? 10_000,
        reconnectPeriod: 0,
        resubscribe: false,
        incomingStore: this.incomingStore,
        outgoingStore: this.outgoingStore,
        will,
        ...(this.options.ca ? { ca: [...rootCertificates, this.options.ca.toString('utf8')] } : {}),
      };
      this.client = connect(this.options.url, options);
      this.attachClient(this.client);
    } else {
      this.client.options.password = password;
      this.client.options.will = will;
      this.client.reconnect({ incomingStore: this.incomingStore, outgoingStore: this.outgoingStore });
    }
  }

  private attachClient(client: MqttClient): void {
    client.on('connect', () => this.onConnected(client));
    client.on('close', () => this.onClosed(client));
    client.on('error', (error: Error & { code?: number | string }) => {
      this.emit('brokerError', { message: error.message, ...(error.code !== undefined ? { code: error.code } : {}) });
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
  }

  private onConnected(client: MqttClient): void {
    if (client !== this.client) return;
    // Nagle's algorithm turns a 0.25 ms QoS 1 round trip into 40+ ms (DESIGN section 12).
    if (client.stream instanceof Socket) client.stream.setNoDelay(true);
    this.clearReconnectTimer();
    this.attempt = 0;
    // Always (re)subscribe: cheap, and the broker may have lost the session (restart, expiry).
    const subscriptions: Record<string, { qos: 1 }> = { [inboxFilter(this.userId)]: { qos: 1 } };
    for (const userId of this.watched) subscriptions[presenceTopic(userId)] = { qos: 1 };
    client.subscribe(subscriptions, (error, granted) => {
      const refused = granted?.filter((grant) => grant.qos === 128) ?? [];
      if (error || refused.length > 0) {
        this.emit('brokerError', {
          message: error ? `subscribe failed: ${error.message}` : `subscribe refused: ${refused.map((g) => g.topic).join(', ')}`,
        });
      }
    });
    client.publish(presenceTopic(this.userId), this.presencePayload('online', this.sessionTs), { qos: 1, retain: true });
    this.setState('connected');
    while (this.queue.length > 0 && client.connected) this.publishNow(this.queue.shift()!);
  }

  private onClosed(client: MqttClient): void {
    if (client !== this.client || !this.started || this.reconnectTimer) return;
    this.attempt++;
    this.setState('reconnecting');
    const delay = backoffDelay(this.attempt - 1, this.options.backoff);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.started) this.connectNow();
    }, delay);
  }

  private clearReconnectTimer(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  private setState(state: SignalingState): void {
    this.state = state;
    this.emit('state', { state, attempt: this.attempt });
  }

  // ---- outgoing ---------------------------------------------------------------------------

  private publishNow(item: Outgoing): void {
    const client = this.client;
    if (!client) return;
    const { identity, signer } = this.options;
    let payload: string;
    try {
      payload = sealSignal(item.to, item.type, item.body, identity, signer, this.now());
    } catch (error) {
      // A well-formed userId that is not a usable key (no X25519 point) can't be sealed to: drop
      // this one message and count it, rather than throw inside mqtt.js's connect handler.
      this.counter.count('WRONG_RECIPIENT', `can't seal to ${item.to.slice(0, 12)}…: ${error instanceof Error ? error.message : String(error)}`, 'mqtt');
      return;
    }
    // Heartbeats are QoS 0: a missed one is covered by the next, and the broker should not pile
    // them up in an offline recipient's session only for them to be rejected as stale later.
    const qos = item.type === 'heartbeat' ? 0 : 1;
    this.unacked++;
    // mqtt.js keeps unacknowledged QoS 1 messages and resends them after a reconnect (same client).
    client.publish(inboxTopic(item.to, item.type), payload, { qos }, () => {
      this.unacked--;
      this.notifyIfIdle();
    });
    this.sent++;
  }

  private notifyIfIdle(): void {
    if (this.queue.length > 0 || this.unacked > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private presencePayload(status: 'online' | 'offline', ts: number): string {
    const env = signEnvelope(
      { type: 'presence', to: this.userId, body: { status }, ts },
      this.options.identity,
      this.options.signer,
    );
    return encodeEnvelope(env);
  }

  // ---- incoming ---------------------------------------------------------------------------

  private onMessage(topic: string, payload: Buffer): void {
    let result: Result<SignalingMessageEvent> | typeof IGNORED;
    try {
      result = this.verifyIncoming(topic, payload);
    } catch (error) {
      // verifyIncoming is written not to throw; this keeps a bug from taking the process down.
      result = reject('SCHEMA', `internal error while verifying: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (result === IGNORED) return;
    if (!result.ok) {
      this.counter.count(result.code, result.reason, 'mqtt');
      this.emit('rejected', { code: result.code, reason: result.reason, topic: topic.slice(0, 200) });
      return;
    }
    this.received++;
    this.emit('message', result.value);
  }

  private verifyIncoming(topic: string, payload: Buffer): Result<SignalingMessageEvent> | typeof IGNORED {
    if (payload.length > MAX_SIGNALING_BYTES) {
      return reject('OVERSIZE', `payload is ${payload.length} bytes, limit ${MAX_SIGNALING_BYTES}`);
    }
    const parsed = parseTopic(topic);
    if (parsed.kind === 'inbox') {
      if (parsed.userId !== this.userId) return reject('WRONG_RECIPIENT', 'message on another user\'s inbox topic');
      if (!isMqttSignalingType(parsed.type)) return reject('UNKNOWN_TYPE', `unknown signaling topic type ${parsed.type.slice(0, 64)}`);
      return this.verifyInbox(parsed.type, payload);
    }
    if (parsed.kind === 'presence') {
      // A subscription left over in a persistent session after unwatchPresence: not an attack.
      if (!this.watched.has(parsed.userId)) return IGNORED;
      return this.verifyPresenceTopic(parsed.userId, payload);
    }
    return reject('UNKNOWN_TYPE', `unexpected topic ${topic.slice(0, 100)}`);
  }

  private verifyInbox(type: MqttSignalingType, payload: Buffer): Result<SignalingMessageEvent> {
    const maxAge = type === 'contactRequest' || type === 'contactResponse' ? CONTACT_MAX_AGE_MS : this.maxSkewMs;
    const opened = openSignal(payload, {
      identity: this.options.identity, signer: this.options.signer, now: this.now(), maxAgeMs: maxAge, maxSkewMs: this.maxSkewMs,
      replay: this.replay, expectedType: type,
    });
    if (!opened.ok) return opened;
    return this.toEvent(opened.value.env, type, opened.value.body, 'inbox');
  }

  private verifyPresenceTopic(owner: string, payload: Buffer): Result<SignalingMessageEvent> | typeof IGNORED {
    const now = this.now();
    // Retained statuses and wills may be arbitrarily old; freshness comes from the ordering check below.
    const decoded = decodeEnvelope(payload, {
      self: owner,
      now,
      maxSkewMs: Number.MAX_SAFE_INTEGER,
      signer: this.options.signer,
      maxBytes: MAX_SIGNALING_BYTES,
    });
    if (!decoded.ok) {
      return decoded.code === 'WRONG_RECIPIENT'
        ? reject('UNAUTHORIZED', `status on presence/${owner.slice(0, 12)}… is not addressed to its owner`)
        : decoded;
    }
    const env = decoded.value;
    if (env.from !== owner) return reject('UNAUTHORIZED', `status on presence/${owner.slice(0, 12)}… is signed by someone else`);
    const checked = this.checkTypeAndFuture(env, 'presence', now);
    if (!checked.ok) return checked;
    const last = this.lastPresence.get(owner);
    if (last?.id === env.id) return IGNORED; // the retained copy again after a resubscribe
    if (last && env.ts <= last.ts) return reject('REPLAY', `presence status older than the last one from ${owner.slice(0, 12)}…`);
    const event = this.toEvent(env, 'presence', env.body, 'presenceTopic');
    if (event.ok) this.lastPresence.set(owner, { id: env.id, ts: env.ts });
    return event;
  }

  private checkTypeAndFuture(env: Envelope, topicType: MqttSignalingType, now: number): Result<true> {
    if (env.type !== topicType) return reject('SCHEMA', `envelope type ${env.type} does not match topic type ${topicType}`);
    if (env.ts > now + this.maxSkewMs) return reject('FUTURE', `timestamp is ${env.ts - now} ms ahead (max ${this.maxSkewMs})`);
    return { ok: true, value: true };
  }

  private toEvent(env: Envelope, type: MqttSignalingType, body: unknown, channel: SignalingMessageEvent['channel']): Result<SignalingMessageEvent> {
    const parsed = parseSignalingBody(type, body);
    if (!parsed.ok) return parsed;
    const event = { type, body: parsed.value.body, from: env.from, id: env.id, ts: env.ts, channel } as SignalingMessageEvent;
    return { ok: true, value: event };
  }
}

const IGNORED = Symbol('ignored');

