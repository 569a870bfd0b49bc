/**
 * Notices and the conditions they are about. A notice with a topic stays only while its condition
 * holds: the store prunes it the moment the state says it no longer applies (the request was
 * answered, the contact accepted, the peer connected, the registry answered again, …).
 */
import type { Contact, NetworkStatus, PeerInfo } from '../../shared/api';

export interface Notice { id: number; kind: 'error' | 'info'; text: string; topic?: string }

/** The parts of the UI state that notice conditions read. */
export interface NoticeView {
  contacts: readonly Contact[];
  peers: Readonly<Record<string, PeerInfo>>;
  network: NetworkStatus | null;
  activeChat: string | null;
}

/** Topics, one per condition. */
export const topics = {
  /** Someone asked to be a contact; applies while their request is waiting. */
  incomingRequest: (userId: string) => `request:${userId}`,
  /** We asked someone; applies while they have not answered. */
  outgoingRequest: (userId: string) => `sent:${userId}`,
  /** A call about one contact failed (send, open, retry, respond); applies until it works or the peer connects. */
  callFailed: (what: 'send' | 'open' | 'retry' | 'respond' | 'add', userId: string) => `${what}:${userId}`,
  /** A call with no contact failed (refresh, settings, clear, block…); applies until the same call works. */
  actionFailed: (what: string) => `failed:${what}`,
  /** A host `error` event, by its code; applies until its condition ends (see below) or it is dismissed. */
  host: (code: string) => `host:${code}`,
  settingsReset: 'settings-reset',
} as const;

/**
 * Notices about a waiting request stay while it waits and go when it is answered (stillApplies):
 * a timer would hide them while still true. Other info notices are confirmations that fade.
 */
export function retractsByCondition(notice: Notice): boolean {
  return notice.topic !== undefined && /^(request|sent):/.test(notice.topic);
}

/** Adds a notice; one with the same topic replaces the older one instead of stacking. */
export function addNotice(list: readonly Notice[], notice: Notice, max: number): Notice[] {
  const rest = notice.topic ? list.filter((n) => n.topic !== notice.topic) : list;
  return [...rest, notice].slice(-max);
}

export function withoutTopics(list: readonly Notice[], ...gone: string[]): Notice[] {
  return list.filter((n) => !n.topic || !gone.includes(n.topic));
}

/** False once the condition a notice is about has ended. Notices without a topic always apply. */
export function stillApplies(notice: Notice, view: NoticeView): boolean {
  const topic = notice.topic;
  if (!topic) return true;
  const sep = topic.indexOf(':');
  const kind = sep < 0 ? topic : topic.slice(0, sep);
  const arg = sep < 0 ? '' : topic.slice(sep + 1);
  const contact = (userId: string) => view.contacts.find((c) => c.userId === userId);
  switch (kind) {
    // Not (yet) listed counts as waiting: a request event can overtake the host's contact list.
    // Answering, blocking and clearing retract these explicitly, since they remove the row.
    case 'request':
    case 'respond': {
      const c = contact(arg);
      return c === undefined || c.state === 'incoming';
    }
    case 'sent': {
      const c = contact(arg);
      return c === undefined || c.state === 'outgoing';
    }
    case 'add':
      // Adding failed; once they are on the list (asked again, or they asked us) it is moot.
      return contact(arg) === undefined;
    case 'retry':
      return view.peers[arg]?.state !== 'CONNECTED';
    case 'send':
    case 'open':
      // About the conversation on screen ("your text is still in the box"); gone with it.
      return view.activeChat === arg;
    case 'host':
      return hostConditionHolds(arg, view);
    default:
      return true;
  }
}

function hostConditionHolds(code: string, view: NoticeView): boolean {
  switch (code) {
    case 'REGISTRY':
      // The registry link clears its error on the next announce that works.
      return view.network?.registry?.lastError != null;
    case 'CONTACT_REQUESTS_LIMITED':
      // It asks the user to answer or clear the waiting requests; with none left it is done.
      return view.contacts.some((c) => c.state === 'incoming');
    default:
      return true;
  }
}

/** The notices that still apply; the same array when nothing changed (so no re-render). */
export function pruneNotices(list: Notice[], view: NoticeView): Notice[] {
  const kept = list.filter((n) => stillApplies(n, view));
  return kept.length === list.length ? list : kept;
}
