/** UI store races: events that overtake replies, history merged with live messages. */
import { describe, expect, it } from 'vitest';
import type { ApiArgs, ApiCall, ApiEvents, ApiResults, ChatMessage, ParleyApi } from '../../../src/shared/api';
import { createUiStore } from '../../../src/renderer/state/store';
import { TypedEmitter } from '../../../src/shared/typed-emitter';

const ME = 'a'.repeat(64);
const BOB = 'b'.repeat(64);

/** Scriptable in-test ParleyApi: results by call name, events pushed by the test. */
class ScriptedApi extends TypedEmitter<ApiEvents> implements ParleyApi {
  readonly calls: Array<{ call: ApiCall; args: unknown }> = [];
  history: ChatMessage[] = [];
  onSend: ((id: string) => void) | null = null;
  private seq = 0;

  async call<C extends ApiCall>(call: C, args: ApiArgs<C>): Promise<ApiResults[C]> {
    this.calls.push({ call, args });
    const results: { [K in ApiCall]?: () => ApiResults[K] } = {
      whoami: () => ({ userId: ME, deviceId: 'd', name: 'Me' }),
      'settings.get': () => ({ displayName: 'Me', brokerUrl: 'mqtt://127.0.0.1:1883', iceServers: [], downloadsDir: '/tmp/downloads', maxFileBytes: 4 * 1024 ** 3, mailbox: '', signalUrls: [], registryUrl: null, networkId: 'parley', discoverable: true, coordinator: false, allowRelay: false }),
      status: () => ({ signaling: 'connected', brokerUrl: 'mqtt://127.0.0.1:1883', peers: [] }),
      'contacts.list': () => [{ userId: BOB, name: 'Bob', state: 'accepted', presence: 'online', lastSeen: null }],
      'chat.setOpen': () => ({ ok: true }),
      'messages.list': () => this.history,
      'messages.send': () => {
        const id = `m${++this.seq}`;
        this.onSend?.(id);
        return { id };
      },
    };
    const make = results[call];
    if (!make) throw new Error(`unscripted ${call}`);
    return make() as ApiResults[C];
  }
}

describe('UI store', () => {
  it('keeps a delivered status that arrives before messages.send returns', async () => {
    const api = new ScriptedApi();
    const store = createUiStore(api);
    await store.getState().start();
    await store.getState().openChat(BOB);
    api.onSend = (id) => api.emit('status', { id, status: 'delivered' });
    expect(await store.getState().send('hi')).toBe(true);
    expect(store.getState().messages[BOB]?.map((m) => [m.text, m.status])).toEqual([['hi', 'delivered']]);
  });

  it('merges history with live messages once each, in order, and applies later statuses', async () => {
    const api = new ScriptedApi();
    api.history = [
      { id: 'h1', from: BOB, to: ME, text: 'old', ts: 1, status: 'delivered' },
      { id: 'h2', from: ME, to: BOB, text: 'mine', ts: 2, status: 'sent' },
    ];
    const store = createUiStore(api);
    await store.getState().start();
    api.emit('message', { id: 'h1', from: BOB, to: ME, text: 'old', ts: 1, status: 'delivered' });
    api.emit('message', { id: 'live', from: BOB, to: ME, text: 'new', ts: 3, status: 'delivered' });
    await store.getState().openChat(BOB);
    api.emit('status', { id: 'h2', status: 'delivered' });
    api.emit('status', { id: 'h2', status: 'sent' });
    expect(store.getState().messages[BOB]?.map((m) => `${m.id}:${m.status}`)).toEqual(['h1:delivered', 'h2:delivered', 'live:delivered']);
  });

  it('tracks peers and presence from events, and stops listening on stop()', async () => {
    const api = new ScriptedApi();
    const store = createUiStore(api);
    await store.getState().start();
    api.emit('connection', { userId: BOB, state: 'RECONNECTING', path: 'none', attempt: 2 });
    api.emit('presence', { userId: BOB, presence: 'chat-open' });
    expect(store.getState().peers[BOB]?.attempt).toBe(2);
    expect(store.getState().contacts[0]?.presence).toBe('chat-open');
    store.getState().stop();
    api.emit('presence', { userId: BOB, presence: 'offline' });
    expect(store.getState().contacts[0]?.presence).toBe('chat-open');
  });

  it('shows a load error that says what to do when the host does not answer', async () => {
    const api = new ScriptedApi();
    api.call = async () => { throw new Error('connection refused'); };
    const store = createUiStore(api);
    await store.getState().start();
    expect(store.getState().loadError).toContain('connection refused');
  });
});
