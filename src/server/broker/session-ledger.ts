/**
 * What the broker allows each identity to keep (issue 10, findings 5 and 7): persistent sessions
 * per identity and in total, subscriptions per session, and how long an unused session is kept.
 * Pure bookkeeping with time passed in; the broker acts on its answers.
 */
export interface SessionLimits {
  /** Persistent sessions (clientIds) one userId may keep; the least recently used offline one makes room. */
  maxSessionsPerUser: number;
  /** Persistent sessions in the whole broker; beyond it, new ones are refused (existing ones still work). */
  maxSessions: number;
  /** Subscriptions one session may hold. */
  maxSubscriptionsPerClient: number;
  /** A persistent session nobody has used for this long is deleted with its queue. */
  idleExpiryMs: number;
}

interface Session {
  userId: string;
  persistent: boolean;
  online: boolean;
  lastSeen: number;
  subscriptions: Set<string>;
}

export type Admission = { ok: true; evict: string[] } | { ok: false; reason: string };

export class SessionLedger {
  private readonly sessions = new Map<string, Session>();
  private readonly byUser = new Map<string, Set<string>>();

  constructor(readonly limits: SessionLimits) {}

  /** A login that passed authentication; says which old sessions to delete to make room. */
  admit(clientId: string, userId: string, persistent: boolean, now: number): Admission {
    const existing = this.sessions.get(clientId);
    if (existing) {
      existing.lastSeen = now;
      if (!persistent) existing.subscriptions.clear(); // a clean session starts without subscriptions
      existing.persistent = persistent;
      return { ok: true, evict: [] };
    }
    const evict: string[] = [];
    if (persistent) {
      const mine = [...(this.byUser.get(userId) ?? [])].map((id) => [id, this.sessions.get(id)!] as const).filter(([, s]) => s.persistent);
      if (mine.length >= this.limits.maxSessionsPerUser) {
        const offline = mine.filter(([, s]) => !s.online).sort((a, b) => a[1].lastSeen - b[1].lastSeen);
        const needed = mine.length - this.limits.maxSessionsPerUser + 1;
        if (offline.length < needed) {
          return { ok: false, reason: `this identity already has ${mine.length} sessions in use (limit ${this.limits.maxSessionsPerUser})` };
        }
        for (const [id] of offline.slice(0, needed)) evict.push(id);
      } else if (this.persistentCount() >= this.limits.maxSessions) {
        return { ok: false, reason: `the broker holds its maximum of ${this.limits.maxSessions} sessions` };
      }
    }
    for (const id of evict) this.forget(id);
    this.sessions.set(clientId, { userId, persistent, online: false, lastSeen: now, subscriptions: new Set() });
    let ids = this.byUser.get(userId);
    if (!ids) this.byUser.set(userId, (ids = new Set()));
    ids.add(clientId);
    return { ok: true, evict };
  }

  connected(clientId: string, now: number): void {
    const session = this.sessions.get(clientId);
    if (session) Object.assign(session, { online: true, lastSeen: now });
  }

  disconnected(clientId: string, now: number): void {
    const session = this.sessions.get(clientId);
    if (!session) return;
    if (!session.persistent) return this.forget(clientId);
    Object.assign(session, { online: false, lastSeen: now });
  }

  /** True if the session may hold this filter (already holding it counts as yes). */
  subscribe(clientId: string, filter: string): boolean {
    const session = this.sessions.get(clientId);
    if (!session) return false;
    if (session.subscriptions.has(filter)) return true;
    if (session.subscriptions.size >= this.limits.maxSubscriptionsPerClient) return false;
    session.subscriptions.add(filter);
    return true;
  }

  unsubscribe(clientId: string, filter: string): void {
    this.sessions.get(clientId)?.subscriptions.delete(filter);
  }

  /** Offline persistent sessions unused for longer than the expiry; forgotten here, deleted by the caller. */
  expire(now: number): string[] {
    const expired: string[] = [];
    for (const [id, session] of this.sessions) {
      if (!session.online && now - session.lastSeen > this.limits.idleExpiryMs) expired.push(id);
    }
    for (const id of expired) this.forget(id);
    return expired;
  }

  stats(): { sessions: number; persistentSessions: number; subscriptions: number } {
    let subscriptions = 0;
    for (const s of this.sessions.values()) subscriptions += s.subscriptions.size;
    return { sessions: this.sessions.size, persistentSessions: this.persistentCount(), subscriptions };
  }

  private persistentCount(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.persistent) n++;
    return n;
  }

  private forget(clientId: string): void {
    const session = this.sessions.get(clientId);
    if (!session) return;
    this.sessions.delete(clientId);
    const ids = this.byUser.get(session.userId);
    ids?.delete(clientId);
    if (ids?.size === 0) this.byUser.delete(session.userId);
  }
}
