/**
 * The host services of one profile, assembled: keystore, SQLite store, MQTT signaling, contacts,
 * delivery and presence, plus the mesh they drive. Desktop (Electron main), web mode and the
 * headless peer all run exactly this; none of it imports electron.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ApiArgs, type ApiCall, type ApiEventName, type ApiEvents, type ApiResults, type ChatMessage,
  type Contact, type PeerInfo, type Settings, type SignalingState,
} from '../../shared/api';
import { RejectCounter } from '../../shared/errors';
import { nodeSigner } from '../crypto/node-signer';
import { MqttSignaling } from '../signaling/mqtt-signaling';
import { openStore } from '../store';
import type { Store, StoredMessage } from '../store/types';
import { Contacts, HostCallError, shortName } from './contacts';
import { Delivery } from './delivery';
import { TypedEmitter } from '../../shared/typed-emitter';
import { loadOrCreateIdentity, type LoadedIdentity, type SecretWrapper } from './keystore';
import { EMBEDDED_BROKER_URL, ensureEmbeddedBroker } from './embedded-servers';
import { PresenceTracker } from '../signaling/presence';
import { RemoteMesh } from './remote-mesh';
import type { MeshFactory, MeshLike, SignalKind } from './transport';
import { fromWireSignal, toWireSignal } from './wire-signal';

export interface HostOptions {
  profileDir: string;
  /**
   * Runs the mesh in this process (headless peer). Without it the mesh is the renderer's
   * (desktop, web mode), driven through the mesh.attach / mesh.report calls and mesh.command events.
   */
  meshFactory?: MeshFactory;
  /** Overrides the stored setting for this run (CLI --broker). */
  brokerUrl?: string;
  /** Overrides the stored display name for this run (CLI --name); also saved. */
  name?: string;
  iceServers?: string[];
  wrapper?: SecretWrapper;
  presence?: { heartbeatMs?: number; offlineAfterMs?: number };
}

export interface HostApi {
  readonly userId: string;
  readonly deviceId: string;
  handle<C extends ApiCall>(call: C, args: ApiArgs<C>): Promise<ApiResults[C]>;
  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
  /** Counts of rejected inputs by code, across signaling and data channels. */
  rejectStats(): Record<string, number>;
  close(): Promise<void>;
}

export const DEFAULT_BROKER_URL = EMBEDDED_BROKER_URL;
const SETTINGS_KEY = 'settings';
const CONTACT_REQUEST_RESEND_MS = 60_000;

export async function startHost(opts: HostOptions): Promise<HostApi> {
  mkdirSync(opts.profileDir, { recursive: true, mode: 0o700 });
  const loaded = loadOrCreateIdentity(opts.profileDir, opts.wrapper);
  const store = openStore(join(opts.profileDir, 'parley.db'));
  try {
    const host = new Host(opts, loaded, store);
    const embedded = host.brokerUrl === DEFAULT_BROKER_URL ? await ensureEmbeddedBroker() : null;
    return host.start(embedded);
  } catch (err) {
    store.close();
    throw err;
  }
}

class Host implements HostApi {
  readonly userId: string;
  readonly deviceId: string;
  private readonly events = new TypedEmitter<ApiEvents>();
  private readonly rejects = new RejectCounter();
  private settings: Settings;
  private readonly signaling: MqttSignaling;
  private readonly mesh: MeshLike;
  private readonly remoteMesh: RemoteMesh | null;
  private readonly contacts: Contacts;
  private readonly delivery: Delivery;
  private readonly presence: PresenceTracker;
  private signalingState: SignalingState = 'connecting';
  private readonly peerInfo = new Map<string, PeerInfo>();

  constructor(private readonly opts: HostOptions, private readonly loaded: LoadedIdentity, private readonly store: Store) {
    const { identity, deviceId } = loaded;
    this.userId = identity.userId;
    this.deviceId = deviceId;
    this.settings = this.loadSettings();

    this.signaling = new MqttSignaling({ url: this.settings.brokerUrl, identity, deviceId, signer: nodeSigner });
    const signalPort = { send: (to: string, kind: SignalKind, payload: unknown) => this.signaling.send(to, kind, toWireSignal(kind, payload)) };
    if (opts.meshFactory) {
      this.mesh = opts.meshFactory(signalPort, this.userId, this.settings.iceServers.map((urls) => ({ urls })));
      this.remoteMesh = null;
    } else {
      this.remoteMesh = new RemoteMesh((cmd) => this.events.emit('mesh.command', cmd));
      this.remoteMesh.bindSignaling(signalPort);
      this.mesh = this.remoteMesh;
    }
    this.contacts = new Contacts({
      store,
      selfName: () => this.settings.displayName,
      deviceId,
      sendSignal: (to, type, body) => this.signaling.send(to, type, body),
      onRequest: (userId, name) => this.events.emit('contactRequest', { userId, name }),
      onAccepted: (userId) => {
        this.events.emit('contactAccepted', { userId, name: store.getContact(userId)?.name ?? shortName(userId) });
        this.presence.track(userId);
        this.mesh.connect(userId);
      },
      onChanged: () => this.events.emit('contactsChanged', {}),
    });
    this.delivery = new Delivery({
      store, identity, signer: nodeSigner, mesh: this.mesh, rejects: this.rejects,
      isContact: (u) => this.contacts.isAccepted(u),
      onMessage: (m) => this.events.emit('message', m),
      onStatus: (id, status) => this.events.emit('status', { id, status }),
    });
    this.presence = new PresenceTracker({
      signaling: this.signaling,
      heartbeatMs: opts.presence?.heartbeatMs,
      timeoutMs: opts.presence?.offlineAfterMs,
    });
    this.presence.on('presence', ({ userId, presence }) => {
      store.setPresence(userId, presence, Date.now());
      this.events.emit('presence', { userId, presence });
      // A contact that just came online is worth a fresh connection attempt.
      if (presence !== 'offline' && this.mesh.state(userId) !== 'CONNECTED') this.reconnect(userId);
    });
  }

  private embeddedBroker: { close(): Promise<void> } | null = null;
  private requestTimer: ReturnType<typeof setInterval> | undefined;

  get brokerUrl(): string {
    return this.settings.brokerUrl;
  }

  start(embeddedBroker: { close(): Promise<void> } | null): this {
    this.embeddedBroker = embeddedBroker;
    this.store.saveIdentityRow({ userId: this.userId, deviceId: this.deviceId, displayName: this.settings.displayName, createdAt: Date.now() });
    this.wireSignaling();
    this.wireMesh();
    for (const userId of this.contacts.accepted()) {
      this.store.setPresence(userId, 'offline', this.store.getContact(userId)?.lastSeen ?? null);
      this.presence.track(userId);
    }
    this.signaling.start();
    this.delivery.start();
    this.presence.start();
    this.requestTimer = setInterval(() => this.contacts.resendOutgoing(), CONTACT_REQUEST_RESEND_MS);
    this.requestTimer.unref?.();
    for (const userId of this.contacts.accepted()) this.mesh.connect(userId);
    return this;
  }

  private loadSettings(): Settings {
    const stored = this.store.getSetting<Partial<Settings>>(SETTINGS_KEY) ?? {};
    const settings: Settings = {
      displayName: this.opts.name ?? stored.displayName ?? shortName(this.loaded.identity.userId),
      brokerUrl: this.opts.brokerUrl ?? stored.brokerUrl ?? DEFAULT_BROKER_URL,
      iceServers: this.opts.iceServers ?? stored.iceServers ?? [],
    };
    this.store.setSetting(SETTINGS_KEY, { ...stored, displayName: settings.displayName });
    return settings;
  }

  private wireSignaling(): void {
    this.signaling.on('state', ({ state, attempt }) => {
      this.signalingState = state;
      this.events.emit('signaling', { state, attempt });
      if (state === 'connected') this.contacts.resendOutgoing();
    });
    this.signaling.on('rejected', ({ code, reason }) => this.rejects.count(code, reason, 'signaling'));
    this.signaling.on('message', (m) => {
      if (process.env.PARLEY_DEBUG) process.stderr.write(`[signal in] ${m.type} from ${m.from.slice(0, 8)} ${JSON.stringify(m.body).slice(0, 120)}\n`);
      switch (m.type) {
        case 'contactRequest':
          this.contacts.onRequest(m.from, (m.body as { name: string }).name);
          return;
        case 'contactResponse': {
          const b = m.body as { accept: boolean; name: string };
          this.contacts.onResponse(m.from, b.accept, b.name);
          return;
        }
      }
      if (!this.contacts.isAccepted(m.from)) {
        this.rejects.count('UNAUTHORIZED', `${m.type} from non-contact ${m.from.slice(0, 8)}`, 'signaling');
        return;
      }
      switch (m.type) {
        case 'offer': case 'answer': case 'iceCandidate':
          void this.mesh.handleSignal(m.from, m.type, fromWireSignal(m.type, m.body)).catch((err: Error) => {
            this.rejects.count('SCHEMA', `signal ${m.type}: ${err.message}`, 'signaling');
          });
          return;
      }
    });
  }

  private wireMesh(): void {
    this.mesh.on('state', ({ userId, state, attempt }) => {
      const info: PeerInfo = { userId, state, attempt, path: state === 'CONNECTED' ? 'direct' : 'none' };
      this.peerInfo.set(userId, info);
      this.events.emit('connection', info);
    });
    this.mesh.on('open', (userId) => {
      this.store.recordRouteSuccess(userId, 'direct');
      this.delivery.onChannelOpen(userId);
    });
    this.mesh.on('frame', (userId, frame) => this.delivery.onFrame(userId, frame));
  }

  private reconnect(userId: string): void {
    const state = this.mesh.state(userId);
    if (state === 'FAILED') this.mesh.retry(userId);
    else if (state === 'DISCONNECTED') this.mesh.connect(userId);
  }

  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
    return this.events.on(event, listener);
  }

  rejectStats(): Record<string, number> {
    return { ...this.rejects.snapshot() };
  }

  async handle<C extends ApiCall>(call: C, args: ApiArgs<C>): Promise<ApiResults[C]> {
    return this.dispatch(call, args) as ApiResults[C];
  }

  private dispatch(call: ApiCall, raw: unknown): ApiResults[ApiCall] | Promise<ApiResults[ApiCall]> {
    switch (call) {
      case 'whoami':
        return { userId: this.userId, deviceId: this.deviceId, name: this.settings.displayName };
      case 'settings.get':
        return { ...this.settings };
      case 'settings.update': {
        const args = raw as ApiArgs<'settings.update'>;
        this.settings = { ...this.settings, ...stripUndefined(args) };
        this.store.setSetting(SETTINGS_KEY, this.settings);
        return { ...this.settings };
      }
      case 'contacts.list':
        return this.store.listContacts().map((c): Contact => ({ userId: c.userId, name: c.name, state: c.state, presence: c.presence, lastSeen: c.lastSeen }));
      case 'contacts.add': {
        const args = raw as ApiArgs<'contacts.add'>;
        if (args.userId === this.userId) throw new HostCallError('SELF_CONTACT', 'That is your own userId; paste the userId of the person you want to add.');
        this.contacts.add(args.userId, args.name);
        return { ok: true };
      }
      case 'contacts.respond': {
        const args = raw as ApiArgs<'contacts.respond'>;
        this.contacts.respond(args.userId, args.accept);
        return { ok: true };
      }
      case 'messages.list': {
        const args = raw as ApiArgs<'messages.list'>;
        return this.store.listMessages(args.with, args.limit ?? 200).map(toChatMessage);
      }
      case 'messages.send': {
        const args = raw as ApiArgs<'messages.send'>;
        if (!this.contacts.isAccepted(args.to)) throw new HostCallError('NOT_A_CONTACT', 'You can only message accepted contacts. Add them first and wait for them to accept.');
        return this.delivery.send(args.to, args.text).then((m) => ({ id: m.id }));
      }
      case 'chat.setOpen': {
        const args = raw as ApiArgs<'chat.setOpen'>;
        if (args.open) this.presence.openChat(args.userId);
        else this.presence.closeChat(args.userId);
        return { ok: true };
      }
      case 'connection.retry': {
        const args = raw as ApiArgs<'connection.retry'>;
        this.mesh.retry(args.userId);
        return { ok: true };
      }
      case 'status':
        return { signaling: this.signalingState, brokerUrl: this.settings.brokerUrl, peers: this.peers() };
      case 'mesh.attach': {
        const { session, peers } = this.requireRemoteMesh().attach();
        return { session, peers, selfId: this.userId, iceServers: this.settings.iceServers };
      }
      case 'mesh.report': {
        const r = this.requireRemoteMesh().report(raw as ApiArgs<'mesh.report'>);
        if (!r.ok) throw new HostCallError('MESH_DETACHED', 'Another window took over the connections; reload this one to use it.');
        return { ok: true };
      }
    }
  }

  private requireRemoteMesh(): RemoteMesh {
    if (!this.remoteMesh) throw new HostCallError('MESH_IN_HOST', 'This Parley runs its connections itself; there is no mesh to attach.');
    return this.remoteMesh;
  }

  private peers(): PeerInfo[] {
    return this.contacts.accepted().map((userId) => this.peerInfo.get(userId) ?? { userId, state: this.mesh.state(userId), attempt: 0, path: 'none' });
  }

  async close(): Promise<void> {
    clearInterval(this.requestTimer);
    this.delivery.stop();
    this.presence.stop();
    this.mesh.close();
    await this.signaling.stop();
    await this.embeddedBroker?.close();
    this.store.close();
  }
}

function toChatMessage(m: StoredMessage): ChatMessage {
  return { id: m.id, from: m.sender, to: m.recipient, text: m.text, ts: m.ts, status: m.status };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
