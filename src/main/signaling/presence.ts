import type { Presence } from '../../shared/api';
import type { MqttSignaling, SignalingMessageEvent } from './mqtt-signaling';
import { TypedEmitter } from '../../shared/typed-emitter';

export const HEARTBEAT_INTERVAL_MS = 30_000;
export const PRESENCE_TIMEOUT_MS = 60_000;

/** 'broadcast' = the contact's presence/{userId} status (its clean-stop offline or its last-will). */
export type PresenceReason = 'heartbeat' | 'chatPresence' | 'presence' | 'broadcast' | 'timeout';

export interface PresenceChange {
  userId: string;
  presence: Presence;
  previous: Presence;
  reason: PresenceReason;
}

export interface PresenceOptions {
  signaling: Pick<MqttSignaling, 'send' | 'on' | 'watchPresence' | 'unwatchPresence' | 'connectionState'>;
  heartbeatMs?: number;
  timeoutMs?: number;
  /** How often liveness is checked; default a sixth of the timeout. */
  sweepMs?: number;
  now?: () => number;
}

interface RemoteState {
  presence: Presence;
  lastHeartbeatAt: number;
}

/**
 * Presence (seed 000 diagram 8, DESIGN section 3):
 * - outgoing: chatPresence {open} when a chat opens/closes, and a heartbeat every 30 s to each
 *   contact whose chat is open;
 * - incoming: a contact is 'chat-open' while its heartbeats arrive and 'offline' 60 s after the last
 *   one; 'online'/'offline' also come from the contact's broadcast status (retained online, last-will
 *   offline: see MqttSignaling), which covers contacts that have no chat open with us.
 */
export class PresenceTracker extends TypedEmitter<{ presence: PresenceChange }> {
  private readonly signaling: PresenceOptions['signaling'];
  private readonly heartbeatMs: number;
  private readonly timeoutMs: number;
  private readonly sweepMs: number;
  private readonly now: () => number;
  private readonly remotes = new Map<string, RemoteState>();
  private readonly openChats = new Set<string>();
  private readonly unsubscribers: Array<() => void> = [];
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(options: PresenceOptions) {
    super();
    this.signaling = options.signaling;
    this.heartbeatMs = options.heartbeatMs ?? HEARTBEAT_INTERVAL_MS;
    this.timeoutMs = options.timeoutMs ?? PRESENCE_TIMEOUT_MS;
    this.sweepMs = options.sweepMs ?? Math.max(10, Math.floor(this.timeoutMs / 6));
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.heartbeatTimer) return;
    this.unsubscribers.push(
      this.signaling.on('message', (message) => this.onMessage(message)),
      this.signaling.on('state', ({ state }) => {
        // After a reconnect, tell open chats at once instead of waiting for the next heartbeat.
        if (state === 'connected') for (const userId of this.openChats) this.signaling.send(userId, 'chatPresence', { open: true });
      }),
    );
    this.heartbeatTimer = setInterval(() => this.sendHeartbeats(), this.heartbeatMs);
    this.sweepTimer = setInterval(() => this.sweep(), this.sweepMs);
  }

  /** Closes open chats politely (chatPresence {open:false}) and stops all timers. */
  stop(): void {
    for (const userId of this.openChats) this.signaling.send(userId, 'chatPresence', { open: false });
    this.openChats.clear();
    for (const off of this.unsubscribers.splice(0)) off();
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.heartbeatTimer = this.sweepTimer = null;
  }

  /** Starts following a contact's presence (initially offline until something says otherwise). */
  track(userId: string): void {
    if (this.remotes.has(userId)) return;
    this.remotes.set(userId, { presence: 'offline', lastHeartbeatAt: 0 });
    this.signaling.watchPresence([userId]);
  }

  untrack(userId: string): void {
    this.remotes.delete(userId);
    this.closeChat(userId);
    this.signaling.unwatchPresence(userId);
  }

  presenceOf(userId: string): Presence {
    return this.remotes.get(userId)?.presence ?? 'offline';
  }

  openChat(userId: string): void {
    if (this.openChats.has(userId)) return;
    this.openChats.add(userId);
    this.signaling.send(userId, 'chatPresence', { open: true });
  }

  closeChat(userId: string): void {
    if (!this.openChats.delete(userId)) return;
    this.signaling.send(userId, 'chatPresence', { open: false });
  }

  private sendHeartbeats(): void {
    // Heartbeats are liveness, not data: never queue them while disconnected.
    if (this.signaling.connectionState !== 'connected') return;
    for (const userId of this.openChats) this.signaling.send(userId, 'heartbeat', {});
  }

  private onMessage(message: SignalingMessageEvent): void {
    const remote = this.remotes.get(message.from);
    if (!remote) return;
    const now = this.now();
    switch (message.type) {
      case 'heartbeat':
        remote.lastHeartbeatAt = now;
        this.set(message.from, remote, 'chat-open', 'heartbeat');
        break;
      case 'chatPresence':
        remote.lastHeartbeatAt = now;
        this.set(message.from, remote, message.body.open ? 'chat-open' : 'online', 'chatPresence');
        break;
      case 'presence': {
        const reason = message.channel === 'presenceTopic' ? 'broadcast' : 'presence';
        if (message.body.status === 'offline') this.set(message.from, remote, 'offline', reason);
        else if (remote.presence === 'offline') this.set(message.from, remote, 'online', reason);
        break;
      }
      default:
        break;
    }
  }

  private sweep(): void {
    const now = this.now();
    for (const [userId, remote] of this.remotes) {
      if (remote.presence === 'chat-open' && now - remote.lastHeartbeatAt > this.timeoutMs) {
        this.set(userId, remote, 'offline', 'timeout');
      }
    }
  }

  private set(userId: string, remote: RemoteState, presence: Presence, reason: PresenceReason): void {
    if (remote.presence === presence) return;
    const previous = remote.presence;
    remote.presence = presence;
    this.emit('presence', { userId, presence, previous, reason });
  }
}
