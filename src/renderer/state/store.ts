/**
 * All UI state in one zustand store, fed only through the ParleyApi contract: initial calls on
 * start, then host events. Components read slices and call the actions.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type {
  ChatMessage, Contact, MessageStatus, NetworkStatus, ParleyApi, PeerInfo, RouteTrace, Settings, SignalingState, WhoAmI,
} from '../../shared/api';
import { errorMessage } from '../api/errors';
import { mergeLists, mergeStatus, upsertMessage } from './messages';
import { needsRestart } from './validate';
import { addNotice, pruneNotices, topics, withoutTopics, type Notice } from './notices';

export type { Notice } from './notices';

export interface UiState {
  me: WhoAmI | null;
  settings: Settings | null;
  signaling: { state: SignalingState; attempt: number };
  peers: Record<string, PeerInfo>;
  contacts: Contact[];
  messages: Record<string, ChatMessage[]>;
  activeChat: string | null;
  notices: Notice[];
  /** Signal servers attached and the registry, for the network panel (null until loaded). */
  network: NetworkStatus | null;
  /** Per contact, the last discovery attempt's trace (route events, route.get). */
  routes: Record<string, RouteTrace>;
  /** Set when the first calls fail; the app cannot show anything useful without them. */
  loadError: string | null;

  /** Subscribes to host events (once) and (re)loads everything; safe to call again after a reconnect. */
  start(): Promise<void>;
  stop(): void;
  refreshContacts(): Promise<void>;
  openChat(userId: string | null): Promise<void>;
  send(text: string): Promise<boolean>;
  addContact(userId: string, name?: string): Promise<boolean>;
  respond(userId: string, accept: boolean): Promise<void>;
  block(userId: string): Promise<void>;
  clearRequests(): Promise<void>;
  retry(userId: string): Promise<void>;
  saveSettings(patch: Partial<Settings>): Promise<boolean>;
  /** Loads the last discovery trace of one contact (the network panel asks when it opens). */
  loadRoute(userId: string): Promise<void>;
  notify(kind: Notice['kind'], text: string, topic?: string): void;
  dismissNotice(id: number): void;
}

export type UiStore = StoreApi<UiState>;

const HISTORY_LIMIT = 1000;
const MAX_NOTICES = 5;

export function createUiStore(api: ParleyApi): UiStore {
  /** message id → conversation (peer userId), so status events find their message. */
  const conversationOf = new Map<string, string>();
  /** Status events that arrived before the message itself (e.g. before messages.send resolved). */
  const earlyStatus = new Map<string, MessageStatus>();
  const unsubscribers: Array<() => void> = [];
  let noticeSeq = 0;

  const store = createStore<UiState>()((set, get) => {
    const peerOf = (m: ChatMessage): string => (m.from === get().me?.userId ? m.to : m.from);

    const putMessage = (m: ChatMessage): void => {
      const peer = peerOf(m);
      conversationOf.set(m.id, peer);
      const early = earlyStatus.get(m.id);
      if (early) {
        earlyStatus.delete(m.id);
        m = { ...m, status: mergeStatus(m.status, early) };
      }
      set((s) => ({ messages: { ...s.messages, [peer]: upsertMessage(s.messages[peer] ?? [], m) } }));
    };

    const applyStatus = (id: string, status: MessageStatus): void => {
      const peer = conversationOf.get(id);
      const list = peer ? get().messages[peer] : undefined;
      const existing = list?.find((m) => m.id === id);
      if (!peer || !list || !existing) {
        earlyStatus.set(id, status);
        return;
      }
      set((s) => ({ messages: { ...s.messages, [peer]: upsertMessage(list, { ...existing, status }) } }));
    };

    /** `topic` says what the failure is about, so it goes away once that works or stops mattering. */
    const fail = (what: string, err: unknown, topic: string): void => {
      get().notify('error', `${what}: ${errorMessage(err)}`, topic);
    };
    const retract = (...gone: string[]): void => set((s) => ({ notices: withoutTopics(s.notices, ...gone) }));

    return {
      me: null,
      settings: null,
      signaling: { state: 'connecting', attempt: 0 },
      peers: {},
      contacts: [],
      messages: {},
      activeChat: null,
      notices: [],
      network: null,
      routes: {},
      loadError: null,

      async start() {
        if (unsubscribers.length === 0) unsubscribers.push(
          api.on('message', (m) => putMessage(m)),
          api.on('status', ({ id, status }) => applyStatus(id, status)),
          api.on('connection', (peer) => set((s) => ({ peers: { ...s.peers, [peer.userId]: peer } }))),
          api.on('signaling', (signaling) => set({ signaling })),
          api.on('presence', ({ userId, presence }) => set((s) => ({
            contacts: s.contacts.map((c) => (c.userId === userId ? { ...c, presence } : c)),
          }))),
          api.on('contactsChanged', () => { void get().refreshContacts(); }),
          api.on('network', (network) => set({ network })),
          api.on('route', (trace) => set((s) => ({ routes: { ...s.routes, [trace.userId]: trace } }))),
          // contactsChanged follows with the full list; this makes the change (and its notices) immediate.
          api.on('contactAccepted', ({ userId }) => set((s) => ({
            contacts: s.contacts.map((c) => (c.userId === userId ? { ...c, state: 'accepted' as const } : c)),
          }))),
          api.on('contactRequest', ({ userId, name }) => {
            get().notify('info', `${name || 'Someone'} wants to add you as a contact. Accept or decline under Requests.`, topics.incomingRequest(userId));
            void get().refreshContacts().then(() => {
              // The request may arrive before the host lists it; show it anyway.
              if (!get().contacts.some((c) => c.userId === userId)) {
                set((s) => ({ contacts: [...s.contacts, { userId, name, state: 'incoming', presence: 'offline', lastSeen: null }] }));
              }
            });
          }),
          api.on('error', ({ code, message }) => get().notify('error', `${message} (${code})`, code === 'SETTINGS_RESET' ? topics.settingsReset : topics.host(code))),
        );
        try {
          const [me, settings, status, contacts, network] = await Promise.all([
            api.call('whoami', {}),
            api.call('settings.get', {}),
            api.call('status', {}),
            api.call('contacts.list', {}),
            // Older hosts may not answer it; the panel then says so instead of failing the load.
            api.call('network.status', {}).catch(() => null),
          ]);
          set((s) => ({
            me,
            settings,
            contacts,
            network: s.network ?? network,
            // Events that raced the snapshot are newer, so they win.
            signaling: s.signaling.attempt > 0 ? s.signaling : { state: status.signaling, attempt: 0 },
            peers: { ...Object.fromEntries(status.peers.map((p) => [p.userId, p])), ...s.peers },
            loadError: null,
          }));
          for (const notice of status.notices ?? []) get().notify('error', notice, topics.settingsReset);
          const chat = get().activeChat;
          if (chat) {
            const history = await api.call('messages.list', { with: chat, limit: HISTORY_LIMIT });
            for (const m of history) conversationOf.set(m.id, chat);
            set((s) => ({ messages: { ...s.messages, [chat]: mergeLists(s.messages[chat] ?? [], history) } }));
          }
        } catch (err) {
          set({ loadError: `Could not load your profile from the Parley host: ${errorMessage(err)}` });
        }
      },

      stop() {
        for (const off of unsubscribers.splice(0)) off();
      },

      async refreshContacts() {
        try {
          set({ contacts: await api.call('contacts.list', {}) });
          retract(topics.actionFailed('refresh'));
        } catch (err) {
          fail('Could not refresh contacts', err, topics.actionFailed('refresh'));
        }
      },

      async openChat(userId) {
        const previous = get().activeChat;
        if (previous === userId) return;
        set({ activeChat: userId });
        if (previous) api.call('chat.setOpen', { userId: previous, open: false }).catch(() => {});
        if (!userId) return;
        try {
          await api.call('chat.setOpen', { userId, open: true });
          const history = await api.call('messages.list', { with: userId, limit: HISTORY_LIMIT });
          for (const m of history) conversationOf.set(m.id, userId);
          set((s) => ({ messages: { ...s.messages, [userId]: mergeLists(s.messages[userId] ?? [], history) } }));
          retract(topics.callFailed('open', userId));
        } catch (err) {
          fail('Could not open the conversation', err, topics.callFailed('open', userId));
        }
      },

      async send(text) {
        const to = get().activeChat;
        const me = get().me;
        if (!to || !me) return false;
        try {
          const { id } = await api.call('messages.send', { to, text });
          if (!conversationOf.has(id)) {
            putMessage({ id, from: me.userId, to, text, ts: Date.now(), status: 'pending' });
          }
          retract(topics.callFailed('send', to));
          return true;
        } catch (err) {
          fail('Message not sent (your text is still in the box; try again)', err, topics.callFailed('send', to));
          return false;
        }
      },

      async addContact(userId, name) {
        try {
          await api.call('contacts.add', name ? { userId, name } : { userId });
          retract(topics.callFailed('add', userId));
          await get().refreshContacts();
          // Retracted by the store as soon as they answer (see notices.ts).
          get().notify('info', 'Contact request sent. They appear as a contact once they accept.', topics.outgoingRequest(userId));
          return true;
        } catch (err) {
          fail('Could not send the contact request', err, topics.callFailed('add', userId));
          return false;
        }
      },

      async respond(userId, accept) {
        try {
          await api.call('contacts.respond', { userId, accept });
          retract(topics.incomingRequest(userId), topics.callFailed('respond', userId));
          await get().refreshContacts();
        } catch (err) {
          fail(accept ? 'Could not accept the request' : 'Could not decline the request', err, topics.callFailed('respond', userId));
        }
      },

      async block(userId) {
        try {
          await api.call('contacts.block', { userId });
          retract(topics.incomingRequest(userId), topics.outgoingRequest(userId), topics.callFailed('respond', userId), topics.actionFailed(`block:${userId}`));
          await get().refreshContacts();
          get().notify('info', 'Blocked. Their requests and messages are dropped from now on; adding them again unblocks them.', `blocked:${userId}`);
        } catch (err) {
          fail('Could not block', err, topics.actionFailed(`block:${userId}`));
        }
      },

      async clearRequests() {
        try {
          const { cleared } = await api.call('contacts.clearRequests', {});
          set((s) => ({ notices: s.notices.filter((n) => !n.topic?.startsWith('request:') && !n.topic?.startsWith('respond:')) }));
          retract(topics.actionFailed('clear'));
          await get().refreshContacts();
          get().notify('info', `${cleared} contact request${cleared === 1 ? '' : 's'} cleared.`, 'cleared');
        } catch (err) {
          fail('Could not clear the requests', err, topics.actionFailed('clear'));
        }
      },

      async retry(userId) {
        try {
          await api.call('connection.retry', { userId });
          retract(topics.callFailed('retry', userId));
        } catch (err) {
          fail('Retry failed to start', err, topics.callFailed('retry', userId));
        }
      },

      async saveSettings(patch) {
        try {
          const before = get().settings;
          const settings = await api.call('settings.update', patch);
          const waiting = before ? needsRestart(before, patch) : [];
          set((s) => ({ settings, me: s.me ? { ...s.me, name: settings.displayName } : s.me }));
          retract(topics.settingsReset, topics.actionFailed('settings'));
          get().notify('info', waiting.length === 0
            ? 'Settings saved.'
            : `Settings saved. Restart Parley for the new ${waiting.join(' and ')} to take effect; everything else applies now.`, 'settings-saved');
          return true;
        } catch (err) {
          fail('Settings not saved', err, topics.actionFailed('settings'));
          return false;
        }
      },

      async loadRoute(userId) {
        try {
          const { trace } = await api.call('route.get', { userId });
          // A route event that raced the reply is at least as new.
          if (trace) set((s) => ({ routes: s.routes[userId] && s.routes[userId].startedAt >= trace.startedAt ? s.routes : { ...s.routes, [userId]: trace } }));
        } catch {
          // The panel shows "no attempt yet"; a route event fills it in when one runs.
        }
      },

      notify(kind, text, topic) {
        const notice: Notice = topic ? { id: ++noticeSeq, kind, text, topic } : { id: ++noticeSeq, kind, text };
        set((s) => ({ notices: addNotice(s.notices, notice, MAX_NOTICES) }));
      },

      dismissNotice(id) {
        set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
      },
    };
  });
  // Every change is a chance for a notice's condition to have ended (notices.ts says which).
  store.subscribe((s) => {
    const kept = pruneNotices(s.notices, s);
    if (kept !== s.notices) store.setState({ notices: kept });
  });
  return store;
}
