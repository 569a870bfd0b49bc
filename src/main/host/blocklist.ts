/** Users this profile has blocked: their contact requests and signals are dropped and counted. */
import type { Store } from '../store/types';
import { USER_ID_RE } from '../../shared/api';

const BLOCKED_KEY = 'blockedUsers';
export const MAX_BLOCKED = 10_000;

export class Blocklist {
  private readonly users: Set<string>;

  constructor(private readonly store: Pick<Store, 'getSetting' | 'setSetting'>) {
    let stored: unknown;
    try {
      stored = store.getSetting(BLOCKED_KEY);
    } catch {
      stored = [];
    }
    this.users = new Set(Array.isArray(stored) ? stored.filter((u): u is string => typeof u === 'string' && USER_ID_RE.test(u)).slice(-MAX_BLOCKED) : []);
  }

  has(userId: string): boolean {
    return this.users.has(userId);
  }

  /** Blocks a user; the oldest entry makes room once the list is full. */
  add(userId: string): void {
    this.users.delete(userId);
    this.users.add(userId);
    while (this.users.size > MAX_BLOCKED) this.users.delete(this.users.values().next().value as string);
    this.store.setSetting(BLOCKED_KEY, [...this.users]);
  }

  /** The user added them again on purpose. */
  remove(userId: string): void {
    if (this.users.delete(userId)) this.store.setSetting(BLOCKED_KEY, [...this.users]);
  }

  get size(): number {
    return this.users.size;
  }
}
