/**
 * Contacts' presence (seed 000 "presence", seed 003 topics): a contact is `online` while we hear
 * from it (heartbeat, presence, any signaling or an open data channel), `chat-open` while it has
 * our conversation open, and `offline` after an explicit offline presence (clean exit or last
 * will) or `offlineAfterMs` of silence. We heartbeat every `heartbeatMs` to every accepted contact.
 */
import type { Presence } from '../../shared/api';
import type { SignalingBodies } from '../../shared/schemas/signaling';
import type { Store } from '../store/types';

type PresenceSignal = 'presence' | 'chatPresence' | 'heartbeat';

export interface PresenceDeps {
  store: Store;
  contacts: () => string[];
  send: <T extends PresenceSignal>(to: string, type: T, body: SignalingBodies[T]) => void;
  onChange: (userId: string, presence: Presence) => void;
  heartbeatMs?: number;
  offlineAfterMs?: number;
  now?: () => number;
}

export class PresenceTracker {
  private readonly heartbeatMs: number;
  private readonly offlineAfterMs: number;
  private readonly now: () => number;
  private readonly lastHeard = new Map<string, number>();
  private readonly current = new Map<string, Presence>();
  private readonly openChats = new Set<string>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly deps: PresenceDeps) {
    this.heartbeatMs = deps.heartbeatMs ?? 30_000;
    this.offlineAfterMs = deps.offlineAfterMs ?? 60_000;
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    // Nobody is known to be online until we hear from them in this run.
    for (const userId of this.deps.contacts()) this.current.set(userId, 'offline');
    for (const userId of this.deps.contacts()) this.deps.store.setPresence(userId, 'offline', this.deps.store.getContact(userId)?.lastSeen ?? null);
    const period = Math.max(50, Math.min(this.heartbeatMs, this.offlineAfterMs / 4));
    let sinceBeat = 0;
    this.timer = setInterval(() => {
      sinceBeat += period;
      if (sinceBeat >= this.heartbeatMs) {
        sinceBeat = 0;
        for (const userId of this.deps.contacts()) this.deps.send(userId, 'heartbeat', {});
      }
      this.expire();
    }, period);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const userId of this.deps.contacts()) this.deps.send(userId, 'presence', { status: 'offline' });
  }

  announceAll(): void {
    for (const userId of this.deps.contacts()) this.announceTo(userId);
  }

  announceTo(userId: string): void {
    this.deps.send(userId, 'presence', { status: 'online' });
    if (this.openChats.has(userId)) this.deps.send(userId, 'chatPresence', { open: true });
  }

  setChatOpen(userId: string, open: boolean): void {
    if (open) this.openChats.add(userId);
    else this.openChats.delete(userId);
    this.deps.send(userId, 'chatPresence', { open });
  }

  /** Any authenticated sign of life from a contact. */
  onActivity(userId: string): void {
    this.lastHeard.set(userId, this.now());
    if (this.current.get(userId) === 'offline' || !this.current.has(userId)) this.set(userId, 'online');
  }

  onSignal(from: string, type: PresenceSignal, body: unknown): void {
    const b = body as { status?: string; open?: boolean };
    if (type === 'presence' && b.status === 'offline') {
      this.lastHeard.delete(from);
      this.set(from, 'offline');
      return;
    }
    this.lastHeard.set(from, this.now());
    if (type === 'chatPresence') this.set(from, b.open ? 'chat-open' : 'online');
    else if (this.current.get(from) !== 'chat-open') this.set(from, 'online');
    // Someone who just came online has not heard our status yet.
    if (type === 'presence' && b.status === 'online') this.deps.send(from, 'heartbeat', {});
  }

  private expire(): void {
    const now = this.now();
    for (const [userId, at] of this.lastHeard) {
      if (now - at > this.offlineAfterMs) {
        this.lastHeard.delete(userId);
        this.set(userId, 'offline');
      }
    }
  }

  private set(userId: string, presence: Presence): void {
    if (this.current.get(userId) === presence) return;
    this.current.set(userId, presence);
    this.deps.store.setPresence(userId, presence, this.lastHeard.get(userId) ?? this.now());
    this.deps.onChange(userId, presence);
  }
}
