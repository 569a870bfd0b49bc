/**
 * All UI state in one zustand store, fed only through the ParleyApi contract: initial calls on
 * start, then host events. Components read slices and call the actions.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type {
  ChatMessage, Contact, MessageStatus, ParleyApi, PeerInfo, Settings, SignalingState, WhoAmI,
} from '../../shared/api';
import { errorMessage } from '../api/errors';
import { mergeLists, mergeStatus, upsertMessage } from './messages';

/** `topic` lets a later action retract a notice that no longer applies (e.g. an answered request). */
export interface Notice { id: number; kind: 'error' | 'info'; text: string; topic?: string }

export interface UiState {
  me: WhoAmI | null;
  settings: Settings | null;
  signaling: { state: SignalingState; attempt: number };
  peers: Record<string, PeerInfo>;
  contacts: Contact[];
  messages: Record<string, ChatMessage[]>;
  activeChat: string | null;
  notices: Notice[];
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
  retry(userId: string): Promise<void>;
  saveSettings(patch: Partial<Settings>): Promise<boolean>;
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

  return createStore<UiState>()((set, get) => {
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

    const fail = (what: string, err: unknown): void => {
      get().notify('error', `${what}: ${errorMessage(err)}`);
    };

    return {
      me: null,
      settings: null,
      signaling: { state: 'connecting', attempt: 0 },
      peers: {},
      contacts: [],
      messages: {},
      activeChat: null,
      notices: [],
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
          api.on('contactRequest', ({ userId, name }) => {
            get().notify('info', `${name || 'Someone'} wants to add you as a contact. Accept or decline under Requests.`, `request:${userId}`);
            void get().refreshContacts().then(() => {
              // The request may arrive before the host lists it; show it anyway.
              if (!get().contacts.some((c) => c.userId === userId)) {
                set((s) => ({ contacts: [...s.contacts, { userId, name, state: 'incoming', presence: 'offline', lastSeen: null }] }));
              }
            });
          }),
          api.on('error', ({ code, message }) => get().notify('error', `${message} (${code})`)),
        );
        try {
          const [me, settings, status, contacts] = await Promise.all([
            api.call('whoami', {}),
            api.call('settings.get', {}),
            api.call('status', {}),
            api.call('contacts.list', {}),
          ]);
          set((s) => ({
            me,
            settings,
            contacts,
            // Events that raced the snapshot are newer, so they win.
            signaling: s.signaling.attempt > 0 ? s.signaling : { state: status.signaling, attempt: 0 },
            peers: { ...Object.fromEntries(status.peers.map((p) => [p.userId, p])), ...s.peers },
            loadError: null,
          }));
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
        } catch (err) {
          fail('Could not refresh contacts', err);
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
        } catch (err) {
          fail('Could not open the conversation', err);
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
          return true;
        } catch (err) {
          fail('Message not sent (your text is still in the box; try again)', err);
          return false;
        }
      },

      async addContact(userId, name) {
        try {
          await api.call('contacts.add', name ? { userId, name } : { userId });
          await get().refreshContacts();
          get().notify('info', 'Contact request sent. They appear as a contact once they accept.');
          return true;
        } catch (err) {
          fail('Could not send the contact request', err);
          return false;
        }
      },

      async respond(userId, accept) {
        try {
          await api.call('contacts.respond', { userId, accept });
          set((s) => ({ notices: s.notices.filter((n) => n.topic !== `request:${userId}`) }));
          await get().refreshContacts();
        } catch (err) {
          fail(accept ? 'Could not accept the request' : 'Could not decline the request', err);
        }
      },

      async retry(userId) {
        try {
          await api.call('connection.retry', { userId });
        } catch (err) {
          fail('Retry failed to start', err);
        }
      },

      async saveSettings(patch) {
        try {
          const settings = await api.call('settings.update', patch);
          set((s) => ({ settings, me: s.me ? { ...s.me, name: settings.displayName } : s.me }));
          get().notify('info', 'Settings saved.');
          return true;
        } catch (err) {
          fail('Settings not saved', err);
          return false;
        }
      },

      notify(kind, text, topic) {
        const notice: Notice = topic ? { id: ++noticeSeq, kind, text, topic } : { id: ++noticeSeq, kind, text };
        set((s) => ({ notices: [...s.notices, notice].slice(-MAX_NOTICES) }));
      },

      dismissNotice(id) {
        set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
      },
    };
  });
}
