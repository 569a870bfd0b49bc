/**
 * A chat message that travels beyond the channel it was written for (DESIGN section 7): the whole
 * signed CHAT_MESSAGE envelope, sealed to its recipient (nacl box). Whoever holds it — the mailbox
 * or a coordinator peer — sees who deposited it for whom, never the text, and can't forge one.
 * Both store-and-forward tiers seal and open through here.
 */
import { openFrom, sealTo } from '../../shared/box';
import type { Signer } from '../../shared/crypto';
import { fromUtf8, utf8 } from '../../shared/encoding';
import { decodeEnvelope, encodeEnvelope, signEnvelope, DEFAULT_MAX_SKEW_MS, type Envelope } from '../../shared/envelope';
import type { RejectCounter } from '../../shared/errors';
import type { Identity } from '../../shared/identity';
import { parseDataChannelBody } from '../../shared/schemas/datachannel';

export type ChatBody = { text: string; sentAt?: number; replyTo?: string };

/** A stored copy may be opened up to the mailbox's expiry (30 days) after it was signed. */
export const MAX_STORED_AGE_MS = 31 * 24 * 3600 * 1000;

/** Signs an ACK of these ids for `to` and seals it to `to` (a receipt that travels through a holder). */
export function sealAck(to: string, msgIds: string[], identity: Identity, signer: Signer): { id: string; sealed: string } {
  const env = signEnvelope({ type: 'ACK', to, body: { msgIds } }, identity, signer);
  return { id: env.id, sealed: sealTo(to, utf8(encodeEnvelope(env)), identity) };
}

/** Signs the message for `to` as its author and seals the encoded envelope to `to`. */
export function sealChat(to: string, msgId: string, body: ChatBody, identity: Identity, signer: Signer): string {
  const env = signEnvelope({ type: 'CHAT_MESSAGE', to, id: msgId, body }, identity, signer);
  return sealTo(to, utf8(encodeEnvelope(env)), identity);
}

export interface OpenSealedDeps {
  identity: Identity;
  signer: Signer;
  rejects: RejectCounter;
  isContact: (userId: string) => boolean;
}

/**
 * Opens a copy that claims to come from `sender`: it must open with sender's key, carry a
 * CHAT_MESSAGE signed by that same sender for us, and come from a contact. Anything else is
 * counted under `source` and yields null.
 */
export function openSealedChat(sender: string, sealed: string, deps: OpenSealedDeps, source: string): Envelope<ChatBody> | null {
  const env = openSealed(sender, sealed, deps, source, ['CHAT_MESSAGE']);
  return env as Envelope<ChatBody> | null;
}

export type AckBody = { msgId?: string; msgIds?: string[] };

/** Like openSealedChat, for the types a holder may carry to us (a chat message, or a receipt). */
export function openSealed(sender: string, sealed: string, deps: OpenSealedDeps, source: string, types: readonly ('CHAT_MESSAGE' | 'ACK')[]): Envelope<ChatBody> | Envelope<AckBody> | null {
  const { identity, signer, rejects } = deps;
  const plain = openFrom(sender, sealed, identity);
  if (!plain) {
    rejects.count('DECRYPT_FAILED', `${source} copy from ${sender.slice(0, 8)} does not open`, source);
    return null;
  }
  const decoded = decodeEnvelope(fromUtf8(plain), {
    self: identity.userId, signer, maxSkewMs: Math.max(MAX_STORED_AGE_MS, DEFAULT_MAX_SKEW_MS), counter: rejects, source,
  });
  if (!decoded.ok) return null;
  const env = decoded.value;
  if (env.from !== sender) {
    rejects.count('BAD_SIGNATURE', `${source} copy sealed by ${sender.slice(0, 8)} carries a message signed by ${env.from.slice(0, 8)}`, source);
    return null;
  }
  if (!(types as readonly string[]).includes(env.type)) {
    rejects.count('UNKNOWN_TYPE', `${source} copy of type ${env.type}`, source);
    return null;
  }
  const body = parseDataChannelBody(env.type, env.body);
  if (!body.ok) {
    rejects.count(body.code, body.reason, source);
    return null;
  }
  if (!deps.isContact(env.from)) {
    rejects.count('UNAUTHORIZED', `${source} message from non-contact ${env.from.slice(0, 8)}`, source);
    return null;
  }
  return env.type === 'ACK' ? (env as Envelope<AckBody>) : (env as Envelope<ChatBody>);
}
