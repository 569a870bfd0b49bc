/**
 * Contact requests and responses over signaling (seed 000, "contact request").
 * A request to someone who already asked us is an acceptance; a repeated request from an
 * accepted contact (e.g. after they reinstalled) is answered again without asking the user.
 */
import type { RejectCode } from '../../shared/errors';
import type { SignalingBodies } from '../../shared/schemas/signaling';
import type { Store } from '../store/types';
import type { Blocklist } from './blocklist';
import type { ContactRequestGuard } from './contact-request-guard';

export interface ContactsDeps {
  store: Store;
  selfName: () => string;
  deviceId: string;
  sendSignal: <T extends 'contactRequest' | 'contactResponse'>(to: string, type: T, body: SignalingBodies[T]) => void;
  onRequest: (userId: string, name: string) => void;
  onAccepted: (userId: string) => void;
  onChanged: () => void;
  guard: ContactRequestGuard;
  blocklist: Blocklist;
  /** A request was dropped: counted in stats under contactRequest:CODE. */
  onRefused: (code: RejectCode, reason: string) => void;
  now?: () => number;
}

/**
 * An unanswered request is repeated this long after each send (then every minute): the first
 * send can be lost when the recipient's subscription is not yet in place at the broker, and the
 * recipient treats a repeat as the same request, so repeating costs one small frame.
 */
export const REQUEST_RESEND_AFTER_MS = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000] as const;
export const REQUEST_RESEND_EVERY_MS = 60_000;

export class Contacts {
  /** Accepted userIds, asked for on every received frame; rebuilt whenever a contact changes. */
  private acceptedCache: Set<string> | null = null;
  /** Outgoing requests awaiting an answer: how many repeats so far and when the next is due. */
  private readonly resends = new Map<string, { repeats: number; dueAt: number }>();
  private readonly now: () => number;

  constructor(private readonly deps: ContactsDeps) {
    const onChanged = deps.onChanged;
    this.deps = { ...deps, onChanged: () => { this.acceptedCache = null; onChanged(); } };
    this.now = deps.now ?? Date.now;
  }

  isAccepted(userId: string): boolean {
    this.acceptedCache ??= new Set(this.accepted());
    return this.acceptedCache.has(userId);
  }

  accepted(): string[] {
    return this.deps.store.listContacts().filter((c) => c.state === 'accepted').map((c) => c.userId);
  }

  add(userId: string, name?: string): void {
    this.deps.blocklist.remove(userId);
    const existing = this.deps.store.getContact(userId);
    if (existing?.state === 'incoming') {
      this.respond(userId, true);
      return;
    }
    if (existing?.state !== 'accepted') {
      this.deps.store.upsertContact({ userId, name: name ?? existing?.name ?? shortName(userId), state: 'outgoing' });
      this.deps.onChanged();
    }
    this.sendRequest(userId, 0);
  }

  /**
   * A request published before the recipient's first session existed is lost by the broker, so
   * every unanswered request is sent again on (re)connect, and its repeats start over.
   */
  resendOutgoing(): void {
    for (const c of this.deps.store.listContacts()) {
      if (c.state === 'outgoing') this.sendRequest(c.userId, 0);
    }
  }

  /** Repeats the unanswered requests that are due (see REQUEST_RESEND_AFTER_MS); call every second or so. */
  resendDue(): void {
    const now = this.now();
    for (const [userId, { repeats, dueAt }] of this.resends) {
      if (dueAt > now) continue;
      if (this.deps.store.getContact(userId)?.state !== 'outgoing') this.resends.delete(userId);
      else this.sendRequest(userId, repeats + 1);
    }
  }

  private sendRequest(userId: string, repeats: number): void {
    const wait = REQUEST_RESEND_AFTER_MS[repeats] ?? REQUEST_RESEND_EVERY_MS;
    this.resends.set(userId, { repeats, dueAt: this.now() + wait });
    this.deps.sendSignal(userId, 'contactRequest', { name: this.deps.selfName(), deviceId: this.deps.deviceId });
  }

  respond(userId: string, accept: boolean): void {
    const existing = this.deps.store.getContact(userId);
    if (!existing) throw new HostCallError('NO_SUCH_CONTACT', 'There is no contact request from that user.');
    this.deps.store.setContactState(userId, accept ? 'accepted' : 'declined');
    this.deps.sendSignal(userId, 'contactResponse', { accept, name: this.deps.selfName() });
    this.deps.onChanged();
    if (accept) this.deps.onAccepted(userId);
  }

  onRequest(from: string, name: string): void {
    if (this.deps.blocklist.has(from)) return this.deps.onRefused('BLOCKED', `contact request from blocked ${from.slice(0, 8)}`);
    const existing = this.deps.store.getContact(from);
    if (existing?.state === 'accepted' || existing?.state === 'outgoing') {
      // Someone the user added or accepted: never limited by the stranger caps, but a repeat from
      // an accepted contact is answered at most at the per-sender rate (no reply amplification).
      if (existing.state === 'accepted' && !this.deps.guard.admit(from, 0, false).ok) {
        return this.deps.onRefused('RATE_LIMITED', `repeated contact request from ${from.slice(0, 8)}`);
      }
      this.deps.store.upsertContact({ userId: from, name, state: 'accepted' });
      this.deps.sendSignal(from, 'contactResponse', { accept: true, name: this.deps.selfName() });
      this.deps.onChanged();
      if (existing.state === 'outgoing') this.deps.onAccepted(from);
      return;
    }
    if (existing?.state === 'declined') return this.deps.onRefused('DUPLICATE', `contact request from declined ${from.slice(0, 8)}`);
    // The same request again (senders repeat until answered) changes nothing: no write, no event.
    if (existing?.state === 'incoming' && existing.name === name) return this.deps.onRefused('DUPLICATE', `repeated contact request from ${from.slice(0, 8)}`);
    const admitted = this.deps.guard.admit(from, this.pendingCount(), existing === undefined);
    if (!admitted.ok) return this.deps.onRefused(admitted.code, admitted.reason);
    this.deps.store.upsertContact({ userId: from, name, state: 'incoming' });
    this.deps.onChanged();
    if (existing?.state !== 'incoming') this.deps.onRequest(from, name);
  }

  /** Blocks a user: forgets them as a contact or request, and drops whatever they send from now on. */
  block(userId: string): void {
    this.deps.blocklist.add(userId);
    if (this.deps.store.removeContact(userId)) this.deps.onChanged();
  }

  isBlocked(userId: string): boolean {
    return this.deps.blocklist.has(userId);
  }

  /** Removes every pending incoming request without answering; returns how many. */
  clearRequests(): number {
    let cleared = 0;
    for (const c of this.deps.store.listContacts()) {
      if (c.state === 'incoming' && this.deps.store.removeContact(c.userId)) cleared++;
    }
    if (cleared > 0) this.deps.onChanged();
    return cleared;
  }

  private pendingCount(): number {
    return this.deps.store.listContacts().filter((c) => c.state === 'incoming').length;
  }

  onResponse(from: string, accept: boolean, name: string): void {
    const existing = this.deps.store.getContact(from);
    if (!existing || existing.state !== 'outgoing') return;
    this.deps.store.upsertContact({ userId: from, name, state: accept ? 'accepted' : 'declined' });
    this.deps.onChanged();
    if (accept) this.deps.onAccepted(from);
  }
}

export class HostCallError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'HostCallError';
  }
}

export function shortName(userId: string): string {
  return `user-${userId.slice(0, 8)}`;
}
