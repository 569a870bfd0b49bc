import type { ContactState, MessageStatus, Presence, RoutePath } from './types';
import { StoreError } from './types';

export const MESSAGE_STATUSES = ['pending', 'sent', 'stored', 'delivered', 'read', 'failed'] as const satisfies readonly MessageStatus[];
export const CONTACT_STATES = ['outgoing', 'incoming', 'accepted', 'declined'] as const satisfies readonly ContactState[];
export const PRESENCES = ['online', 'chat-open', 'offline'] as const satisfies readonly Presence[];
export const ROUTE_PATHS = ['direct', 'relay', 'coordinator', 'mailbox'] as const satisfies readonly RoutePath[];

/** A reader for a TEXT column that must hold one of `allowed`: unknown values mean a damaged row. */
function enumColumn<T extends string>(allowed: readonly T[], column: string): (value: string) => T {
  const known = new Set<string>(allowed);
  return (value) => {
    if (known.has(value)) return value as T;
    throw new StoreError('CORRUPT', `${column} holds unknown value ${JSON.stringify(value)}`);
  };
}

export const readMessageStatus = enumColumn(MESSAGE_STATUSES, 'messages.status');
export const readContactState = enumColumn(CONTACT_STATES, 'contacts.state');
export const readPresence = enumColumn(PRESENCES, 'contacts.presence');
export const readRoutePath = enumColumn(ROUTE_PATHS, 'peer_routes.path');

/**
 * Status may only move forward: pending < sent < stored < delivered < read. 'failed' is reachable
 * only from pending/sent, and a failed message may still move on to sent/stored/delivered/read when
 * evidence arrives (a late ACK). Nothing ever returns to 'pending'; a stored message that is sent
 * again directly stays 'stored' until the recipient's ACK.
 */
export const STATUS_PREDECESSORS: Readonly<Record<MessageStatus, readonly MessageStatus[]>> = {
  pending: [],
  sent: ['pending', 'failed'],
  stored: ['pending', 'sent', 'failed'],
  delivered: ['pending', 'sent', 'stored', 'failed'],
  read: ['pending', 'sent', 'stored', 'delivered', 'failed'],
  failed: ['pending', 'sent'],
};
