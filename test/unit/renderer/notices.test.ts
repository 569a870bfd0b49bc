/** Notices retract when their condition ends, driven through the store as the UI drives it. */
import { describe, expect, it } from 'vitest';
import type { ApiArgs, ApiCall, ApiEvents, ApiResults, Contact, NetworkStatus, ParleyApi } from '../../../src/shared/api';
import { createUiStore } from '../../../src/renderer/state/store';
import { TypedEmitter } from '../../../src/shared/typed-emitter';
import { addNotice, stillApplies, topics, type NoticeView } from '../../../src/renderer/state/notices';

const ME = 'a'.repeat(64);
const BOB = 'b'.repeat(64);
const CAROL = 'c'.repeat(64);

const NETWORK_OK: NetworkStatus = { signalServers: [], signalAddrs: [], registry: { url: 'http://r', networkId: 'n', lastAnnounceOk: 1, lastError: null } };

class ScriptedApi extends TypedEmitter<ApiEvents> implements ParleyApi {
  contacts: Contact[] = [];
  fail = new Set<ApiCall>();

  async call<C extends ApiCall>(call: C, args: ApiArgs<C>): Promise<ApiResults[C]> {
    if (this.fail.has(call)) throw new Error(`${call} refused`);
    const results: { [K in ApiCall]?: () => ApiResults[K] } = {
      whoami: () => ({ userId: ME, deviceId: 'd', name: 'Me' }),
      'settings.get': () => ({ displayName: 'Me', brokerUrl: 'mqtt://127.0.0.1:1883', iceServers: [], downloadsDir: '/tmp/d', maxFileBytes: 1, mailbox: '', signalUrls: [], registryUrl: null, networkId: 'parley', discoverable: true, coordinator: false, allowRelay: false }),
      status: () => ({ signaling: 'connected', brokerUrl: 'mqtt://127.0.0.1:1883', peers: [] }),
      'contacts.list': () => this.contacts.map((c) => ({ ...c })),
      'network.status': () => NETWORK_OK,
      'contacts.add': () => {
        const a = args as ApiArgs<'contacts.add'>;
        this.contacts.push({ userId: a.userId, name: a.name ?? '', state: 'outgoing', presence: 'offline', lastSeen: null });
        return { ok: true };
      },
      'contacts.respond': () => {
        const a = args as ApiArgs<'contacts.respond'>;
        this.contacts = this.contacts.map((c) => (c.userId === a.userId ? { ...c, state: a.accept ? 'accepted' : 'declined' } : c));
        return { ok: true };
      },
      'connection.retry': () => ({ ok: true }),
      'chat.setOpen': () => ({ ok: true }),
      'messages.list': () => [],
      'messages.send': () => ({ id: 'm1' }),
    };
    const make = results[call];
    if (!make) throw new Error(`unscripted ${call}`);
    return make() as ApiResults[C];
  }
}

const texts = (store: ReturnType<typeof createUiStore>) => store.getState().notices.map((n) => n.text);
const flush = () => new Promise((r) => setTimeout(r, 0));

describe('notices retract when they stop applying', () => {
  it('"Contact request sent" goes away the moment the contact accepts', async () => {
    const api = new ScriptedApi();
    const store = createUiStore(api);
    await store.getState().start();
    expect(await store.getState().addContact(BOB, 'Bob')).toBe(true);
    expect(texts(store)).toEqual([expect.stringContaining('Contact request sent')]);
    // Bob accepts on his side: the host says so.
    api.contacts = api.contacts.map((c) => ({ ...c, state: 'accepted' }));
    api.emit('contactAccepted', { userId: BOB, name: 'Bob' });
    expect(texts(store)).toEqual([]);
  });

  it('"Contact request sent" also goes when they decline (seen through contactsChanged)', async () => {
    const api = new ScriptedApi();
    const store = createUiStore(api);
    await store.getState().start();
    await store.getState().addContact(BOB);
    await store.getState().addContact(CAROL);
    expect(store.getState().notices.map((n) => n.topic)).toEqual([topics.outgoingRequest(BOB), topics.outgoingRequest(CAROL)]);
    api.contacts = api.contacts.map((c) => (c.userId === BOB ? { ...c, state: 'declined' } : c));
    api.emit('contactsChanged', {});
    await flush();
    expect(store.getState().notices.map((n) => n.topic)).toEqual([topics.outgoingRequest(CAROL)]);
  });

  it('an incoming request notice stays while waiting and goes once it is answered here or elsewhere', async () => {
    const api = new ScriptedApi();
    const store = createUiStore(api);
    await store.getState().start();
    // The event can overtake the host's list: it must not vanish before the request is listed.
    api.emit('contactRequest', { userId: BOB, name: 'Bob' });
    expect(texts(store)).toEqual([expect.stringContaining('Bob wants to add you')]);
    await flush();
    expect(store.getState().contacts.find((c) => c.userId === BOB)?.state).toBe('incoming');
    expect(texts(store)).toHaveLength(1);
    // Accepted in another window: only the list changes.
    api.contacts = [{ userId: BOB, name: 'Bob', state: 'accepted', presence: 'online', lastSeen: null }];
    api.emit('contactsChanged', {});
    await flush();
    expect(texts(store)).toEqual([]);
  });

  it('a failed call notice goes when the same call works, not before', async () => {
    const api = new ScriptedApi();
    api.contacts = [{ userId: BOB, name: 'Bob', state: 'accepted', presence: 'online', lastSeen: null }];
    const store = createUiStore(api);
    await store.getState().start();
    api.fail.add('connection.retry');
    await store.getState().retry(BOB);
    expect(texts(store)).toEqual([expect.stringContaining('Retry failed to start')]);
    api.emit('connection', { userId: BOB, state: 'DISCOVERING', path: 'none', attempt: 1 });
    expect(texts(store)).toHaveLength(1);
    api.emit('connection', { userId: BOB, state: 'CONNECTED', path: 'direct', attempt: 1 });
    expect(texts(store)).toEqual([]);

    api.fail.add('messages.send');
    await store.getState().openChat(BOB);
    expect(await store.getState().send('hi')).toBe(false);
    expect(texts(store)).toEqual([expect.stringContaining('Message not sent')]);
    api.fail.delete('messages.send');
    expect(await store.getState().send('hi')).toBe(true);
    expect(texts(store)).toEqual([]);

    api.fail.add('contacts.list');
    await store.getState().refreshContacts();
    await store.getState().refreshContacts();
    expect(texts(store)).toEqual([expect.stringContaining('Could not refresh contacts')]);
    api.fail.delete('contacts.list');
    await store.getState().refreshContacts();
    expect(texts(store)).toEqual([]);
  });

  it('host errors: one per code, the registry one goes once an announce works, the flood one once no request waits', async () => {
    const api = new ScriptedApi();
    const store = createUiStore(api);
    await store.getState().start();
    const broken: NetworkStatus = { ...NETWORK_OK, registry: { ...NETWORK_OK.registry!, lastError: 'ECONNREFUSED' } };
    api.emit('network', broken);
    api.emit('error', { code: 'REGISTRY', message: 'registry announce failed: ECONNREFUSED' });
    api.emit('error', { code: 'REGISTRY', message: 'registry announce failed: ECONNREFUSED' });
    expect(texts(store)).toHaveLength(1);
    api.emit('network', NETWORK_OK);
    expect(texts(store)).toEqual([]);

    api.contacts = [{ userId: CAROL, name: 'x', state: 'incoming', presence: 'offline', lastSeen: null }];
    await store.getState().refreshContacts();
    api.emit('error', { code: 'CONTACT_REQUESTS_LIMITED', message: '3 contact requests were refused' });
    expect(texts(store)).toHaveLength(1);
    await store.getState().respond(CAROL, false);
    expect(texts(store)).toEqual([]);
  });

  it('a settings-reset notice goes once settings are saved; other errors stay until dismissed', async () => {
    const api = new ScriptedApi();
    const store = createUiStore(api);
    await store.getState().start();
    api.emit('error', { code: 'SETTINGS_RESET', message: 'The saved broker URL was unusable' });
    api.emit('error', { code: 'SOMETHING', message: 'keep me' });
    api.call = (async (call: ApiCall) => {
      if (call === 'settings.update') return { displayName: 'Me', brokerUrl: 'mqtt://x', iceServers: [], downloadsDir: '/d', maxFileBytes: 1, mailbox: '', signalUrls: [], registryUrl: null, networkId: 'parley', discoverable: true, allowRelay: false };
      throw new Error('unscripted');
    }) as ParleyApi['call'];
    expect(await store.getState().saveSettings({ displayName: 'Me' })).toBe(true);
    expect(texts(store)).toEqual([expect.stringContaining('keep me'), 'Settings saved.']);
  });
});

describe('notice conditions (pure)', () => {
  const view = (over: Partial<NoticeView> = {}): NoticeView => ({ contacts: [], peers: {}, network: null, activeChat: null, ...over });
  it('same topic replaces instead of stacking; untopiced notices always apply', () => {
    const a = addNotice([], { id: 1, kind: 'error', text: 'a', topic: 'host:X' }, 5);
    const b = addNotice(a, { id: 2, kind: 'error', text: 'b', topic: 'host:X' }, 5);
    expect(b.map((n) => n.id)).toEqual([2]);
    expect(stillApplies({ id: 3, kind: 'info', text: 'plain' }, view())).toBe(true);
  });
  it('open/send failures belong to the conversation on screen', () => {
    const n = { id: 1, kind: 'error' as const, text: 'x', topic: topics.callFailed('open', BOB) };
    expect(stillApplies(n, view({ activeChat: BOB }))).toBe(true);
    expect(stillApplies(n, view({ activeChat: CAROL }))).toBe(false);
  });
});
