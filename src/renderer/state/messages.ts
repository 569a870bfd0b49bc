/** Pure helpers for the conversation state, kept apart from React so they are easy to test. */
import type { ChatMessage, MessageStatus } from '../../shared/api';

const STATUS_RANK: Record<Exclude<MessageStatus, 'failed'>, number> = { pending: 0, sent: 1, stored: 2, delivered: 3, read: 4 };

/**
 * Statuses only move forward: a late "sent" must not undo "delivered". "failed" can replace
 * anything short of delivered, and a failed message that is retried moves on again.
 */
export function mergeStatus(current: MessageStatus, incoming: MessageStatus): MessageStatus {
  if (incoming === 'failed') return current === 'delivered' || current === 'read' ? current : 'failed';
  if (current === 'failed') return incoming;
  return STATUS_RANK[incoming] >= STATUS_RANK[current] ? incoming : current;
}

/** Inserts or updates by id, keeping the list ordered by (ts, sender, id), as the host's store lists them. */
export function upsertMessage(list: readonly ChatMessage[], msg: ChatMessage): ChatMessage[] {
  const index = list.findIndex((m) => m.id === msg.id);
  if (index >= 0) {
    const existing = list[index]!;
    const merged: ChatMessage = { ...existing, ...msg, status: mergeStatus(existing.status, msg.status) };
    const next = list.slice();
    next[index] = merged;
    return merged.ts === existing.ts ? next : sortMessages(next);
  }
  const last = list[list.length - 1];
  if (!last || compareMessages(last, msg) <= 0) return [...list, msg];
  return sortMessages([...list, msg]);
}

export function mergeLists(local: readonly ChatMessage[], fromHost: readonly ChatMessage[]): ChatMessage[] {
  let out = local.slice();
  for (const m of fromHost) out = upsertMessage(out, m);
  return out;
}

function compareMessages(a: ChatMessage, b: ChatMessage): number {
  return a.ts - b.ts || cmp(a.from, b.from) || cmp(a.id, b.id);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortMessages(list: ChatMessage[]): ChatMessage[] {
  return list.sort(compareMessages);
}
