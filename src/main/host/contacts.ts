/**
 * Contact requests and responses over signaling (seed 000, "contact request").
 * A request to someone who already asked us is an acceptance; a repeated request from an
 * accepted contact (e.g. after they reinstalled) is answered again without asking the user.
 */
import type { SignalingBodies } from '../../shared/schemas/signaling';
import type { Store } from '../store/types';

export interface ContactsDeps {
  store: Store;
  selfName: () => string;
  deviceId: string;
  sendSignal: <T extends 'contactRequest' | 'contactResponse'>(to: string, type: T, body: SignalingBodies[T]) => void;
  onRequest: (userId: string, name: string) => void;
  onAccepted: (userId: string) => void;
  onChanged: () => void;
}

export class Contacts {
  /** Accepted userIds, asked for on every received frame; rebuilt whenever a contact changes. */
  private acceptedCache: Set<string> | null = null;

  constructor(private readonly deps: ContactsDeps) {
    const onChanged = deps.onChanged;
    this.deps = { ...deps, onChanged: () => { this.acceptedCache = null; onChanged(); } };
  }

  isAccepted(userId: string): boolean {
    this.acceptedCache ??= new Set(this.accepted());
    return this.acceptedCache.has(userId);
  }

  accepted(): string[] {
    return this.deps.store.listContacts().filter((c) => c.state === 'accepted').map((c) => c.userId);
  }

  add(userId: string, name?: string): void {
    const existing = this.deps.store.getContact(userId);
    if (existing?.state === 'incoming') {
      this.respond(userId, true);
      return;
    }
    if (existing?.state !== 'accepted') {
      this.deps.store.upsertContact({ userId, name: name ?? existing?.name ?? shortName(userId), state: 'outgoing' });
      this.deps.onChanged();
    }
    this.deps.sendSignal(userId, 'contactRequest', { name: this.deps.selfName(), deviceId: this.deps.deviceId });
  }

  /**
   * A request published before the recipient's first session existed is lost by the broker, so
   * unanswered requests are repeated (on every reconnect and periodically); the recipient treats
   * a repeat as the same request.
   */
  resendOutgoing(): void {
    for (const c of this.deps.store.listContacts()) {
      if (c.state === 'outgoing') this.deps.sendSignal(c.userId, 'contactRequest', { name: this.deps.selfName(), deviceId: this.deps.deviceId });
    }
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
    const existing = this.deps.store.getContact(from);
    if (existing?.state === 'accepted' || existing?.state === 'outgoing') {
      this.deps.store.upsertContact({ userId: from, name, state: 'accepted' });
      this.deps.sendSignal(from, 'contactResponse', { accept: true, name: this.deps.selfName() });
      this.deps.onChanged();
      if (existing.state === 'outgoing') this.deps.onAccepted(from);
      return;
    }
    if (existing?.state === 'declined') return;
    this.deps.store.upsertContact({ userId: from, name, state: 'incoming' });
    this.deps.onChanged();
    if (existing?.state !== 'incoming') this.deps.onRequest(from, name);
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
