/**
 * The host services of one profile, assembled: keystore, SQLite store, signaling (MQTT and
 * WebSocket signal servers behind one router), contacts, delivery, presence and the discovery
 * chain's host half, plus the mesh they drive. Desktop (Electron main), web mode and the
 * headless peer all run exactly this; none of it imports electron.
 */
import { iceServerFromUrl } from '../../shared/ice-url';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  type ApiArgs, type ApiCall, type ApiEventName, type ApiEvents, type ApiResults, type ChatMessage,
  zDownloadsDir, zMaxFileBytes, zNetworkId, zRegistryUrl, zSignalUrls,
  type Contact, type ConnectionState, type DeliveryPath, type NetworkStatus, type PeerInfo, type Presence, type Settings, type SignalingState, DEFAULT_MAX_FILE_BYTES,
} from '../../shared/api';
import type { RouteTrace } from '../../shared/discovery';
import { RejectCounter, type RejectCode } from '../../shared/errors';
import { HeapSettler } from './heap-settle';
import { Blocklist } from './blocklist';
import { ContactRequestGuard, DEFAULT_CONTACT_REQUEST_LIMITS } from './contact-request-guard';
import { brokerUrlProblem, iceUrlProblem } from '../../shared/settings-urls';
import { checkStoredSettings } from './stored-settings';
import { nodeSigner } from '../crypto/node-signer';
import { useSharedKeyDerivation } from '../../shared/box';
import { MqttSignaling } from '../signaling/mqtt-signaling';
import { openStore } from '../store';
import type { Store, StoredMessage } from '../store/types';
import { Contacts, HostCallError, shortName } from './contacts';
import { Delivery } from './delivery';
import { TypedEmitter } from '../../shared/typed-emitter';
import { cachedSharedKey, ContactKeyCache, registerContactKeys } from './contact-keys';
import { loadOrCreateIdentity, type LoadedIdentity, type SecretWrapper } from './keystore';
import { EMBEDDED_BROKER_URL, embeddedMailboxAddr, ensureEmbeddedServers } from './embedded-servers';
import { MailboxTier, type MailboxStats } from './mailbox-tier';
import { CoordinatorService, isCoordinatorType, tieredStoreAndForward, type HolderLimits, type HolderStats } from './coordinator';
import { loadCaFile } from '../../server/tls';
import { PresenceTracker } from '../signaling/presence';
import { RemoteMesh } from './remote-mesh';
import type { MeshFactory, MeshLike, SignalKind } from './transport';
import { SignalRouter, type WsClientFactory } from '../signaling/signal-router';
import { DiscoveryService } from './discovery/discovery-service';
import { PeerFinder } from './discovery/peer-finder';
import { RegistryLink, type RegistryClientLike } from './discovery/registry-link';
import { RouteBook } from './discovery/route-book';
import { ContactReach } from './discovery/contact-reach';
import { fromWireSignal, toWireSignal } from './wire-signal';
import { isChannelMesh, meshFileChannels } from './files/channels';
import type { FileOpener } from './files/opener';
import { FileTransferError, FileTransfers, type FileStats } from './files/transfers';
import { MAX_PREVIEW_BYTES, previewDataUrl } from './files/thumbnails';
import type { OwedAckLimits, OwedAckStats } from './owed-acks';
import { ServerIce } from './server-ice';
import { mergeIceServers, type IceServerEntry } from '../../shared/schemas/ice';
import { RegistryRequestError } from '../registry/registry-client';
import { RelayClient, type RelayClientStats } from './relay/relay-client';
import { RelayServer, type RelayLimits, type RelayServerStats } from './relay/relay-server';
import { RoutedMesh } from './relay/routed-mesh';
import { IceBlock } from './relay/test-ice-block';
import { relayLimitsFromEnv } from './relay/limits-env';
import type { DataChannelBodies } from '../../shared/schemas/datachannel';

/** Contacts whose presence the host keeps in memory (step 1 of discovery); the oldest is forgotten past it. */
const MAX_PRESENCE_SEEN = 4096;

export interface HostOptions {
  profileDir: string;
  /**
   * Runs the mesh in this process (headless peer). Without it the mesh is the renderer's
   * (desktop, web mode), driven through the mesh.attach / mesh.report calls and mesh.command events.
   */
  meshFactory?: MeshFactory;
  /** Overrides the stored setting for this run (CLI --broker); 'none' = no MQTT at all. */
  brokerUrl?: string;
  /** Override the stored settings for this run (CLI --signal, --registry, --network). */
  signalUrls?: string[];
  registryUrl?: string;
  networkId?: string;
  /** Connects to one WebSocket signal server (ws-signal-client.ts); without it there is no WebSocket signaling. */
  wsClientFactory?: (serverUrl: string, ctx: { identity: LoadedIdentity['identity']; deviceId: string }) => ReturnType<WsClientFactory>;
  registryClientFactory?: (url: string, ctx: { identity: LoadedIdentity['identity'] }) => RegistryClientLike;
  /** Discovery step cutoff = budget x slack + graceMs (env PARLEY_DISCOVERY_SLACK / PARLEY_DISCOVERY_GRACE_MS). */
  discovery?: { slack?: number; graceMs?: number };
  /** Overrides the stored display name for this run (CLI --name); also saved. */
  name?: string;
  iceServers?: string[];
  /** Overrides the stored mailbox setting for this run (CLI --mailbox): '', 'none' or HOST:PORT,... */
  mailbox?: string;
  /** Fallback poll of this device's mailbox inbox (default 30 s); nudges and start fetch at once. */
  mailboxPollMs?: number;
  /** Nudge-started fetches are at least this far apart (default 2 s; mailbox-tier.ts). */
  mailboxNudgeMinIntervalMs?: number;
  /** Overrides the stored "hold messages for my contacts" setting for this run (CLI --coordinator). */
  coordinator?: boolean;
  /** Caps of this device as a coordinator (CLI --coordinator-hold-ms sets maxHoldMs). */
  coordinatorLimits?: Partial<HolderLimits>;
  /** How long a message waits for a channel before it goes to the mailbox (default 3 s). */
  noPathWaitMs?: number;
  /** Caps of the list of ACKs owed to senders for mailbox copies (owed-acks.ts; tests shrink them). */
  owedAckLimits?: OwedAckLimits;
  wrapper?: SecretWrapper;
  presence?: { heartbeatMs?: number; offlineAfterMs?: number };
  /** Extra CA (PEM file) for an mqtts:// or wss:// broker with its own CA; default $PARLEY_CA_FILE. */
  caFile?: string;
  /** Opens received files (Electron's shell); without it file.open / file.show say where to look instead. */
  opener?: FileOpener;
  /** Default downloads folder until the user picks one (Electron: the OS Downloads folder). */
  downloadsDir?: string;
  /** Override the stored downloads folder and size cap for this run (CLI --downloads, --max-file-bytes). */
  fileSettings?: { downloadsDir?: string; maxFileBytes?: number };
  /** Overrides the stored "relay for my contacts" setting for this run (CLI --relay); also saved. */
  allowRelay?: boolean;
  /** Caps of this device as a relay (default DEFAULT_RELAY_LIMITS; env PARLEY_RELAY_LIMITS as JSON). */
  relayLimits?: Partial<RelayLimits>;
}

export interface HostApi {
  readonly userId: string;
  readonly deviceId: string;
  handle<C extends ApiCall>(call: C, args: ApiArgs<C>): Promise<ApiResults[C]>;
  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
  /** Counts of rejected inputs by code, across signaling and data channels. */
  rejectStats(): Record<string, number>;
  fileStats(): FileStats;
  owedAckStats(): OwedAckStats;
  /** This device's mailbox inbox: READs, entries fetched, nudges (null without a mailbox). */
  mailboxStats(): MailboxStats | null;
  /** This device as a coordinator: copies held now and what happened to deposits since start. */
  coordinatorStats(): HolderStats & { enabled: boolean; receivedForwarded: number };
  /** This device as a relay (pairs carried, frames forwarded and dropped) and as a relayed end. */
  relayStats(): { server: RelayServerStats & { pairs: number }; client: RelayClientStats; paths: Record<string, string> };
  close(): Promise<void>;
}

export const DEFAULT_BROKER_URL = EMBEDDED_BROKER_URL;
export const NO_BROKER = 'none';
export const DEFAULT_NETWORK_ID = 'parley';
const SETTINGS_KEY = 'settings';
const CONTACT_REQUEST_TICK_MS = 1_000;
const CONTACT_FLOOD_NOTICE_MS = 60_000;

export async function startHost(opts: HostOptions): Promise<HostApi> {
  mkdirSync(opts.profileDir, { recursive: true, mode: 0o700 });
  const loaded = loadOrCreateIdentity(opts.profileDir, opts.wrapper);
  const store = openStore(join(opts.profileDir, 'parley.db'));
  try {
    const host = new Host(opts, loaded, store);
    // The embedded broker runs as a background `parley server` that outlives this instance.
    if (host.brokerUrl === DEFAULT_BROKER_URL) await ensureEmbeddedServers();
    // The first connections should already have the server's TURN credentials (bounded: 5 s).
    await host.fetchServerIce();
    return host.start(null);
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
  private readonly heap = new HeapSettler();
  private settings: Settings;
  /** Shown to the user: in status snapshots and once as an error event after start. */
  private readonly notices: string[] = [];
  private readonly signaling: SignalRouter;
  private readonly mqtt: MqttSignaling | null;
  private readonly mesh: MeshLike;
  private readonly routes: RouteBook;
  private readonly finder: PeerFinder;
  private readonly discovery: DiscoveryService;
  // Rebuilt when the registry URL or network id setting changes (applyRegistry).
  private registry: RegistryLink | null;
  private readonly contactReach: ContactReach;
  /** ICE servers and TURN credentials from the registry (GET /ice), merged under the user's own. */
  private serverIce: ServerIce | null;
  private lastIceError = 0;
  private readonly discoveryTiming: { slack: number; graceMs: number };
  private readonly remoteMesh: RemoteMesh | null;
  private readonly contacts: Contacts;
  private readonly delivery: Delivery;
  private readonly presence: PresenceTracker | null;
  private readonly files: FileTransfers;
  private readonly relayClient: RelayClient;
  private readonly relayServer: RelayServer;
  /** Direct channel when open, else the relay: what delivery sends over. */
  private readonly routed: RoutedMesh;
  private readonly iceBlock = new IceBlock();
  private signalingState: SignalingState = 'connecting';
  private readonly peerInfo = new Map<string, PeerInfo>();
  private readonly presenceSeen = new Map<string, Presence>();
  private readonly mailbox: MailboxTier | null;
  private readonly mailboxSeeds: string[] | null;
  private readonly coordinator: CoordinatorService;
  private lastMailboxError = 0;
  private readonly unregisterContactKeys: () => void;

  constructor(private readonly opts: HostOptions, private readonly loaded: LoadedIdentity, private readonly store: Store) {
    const { identity, deviceId } = loaded;
    // Same keys as the pure-JS path, without milliseconds of X25519 per new contact, and a
    // contact's kept across restarts (issue 11, setup).
    const contactKeys = new ContactKeyCache({ store, identity, ...(opts.wrapper ? { wrapper: opts.wrapper } : {}), isContact: (u) => store.getContact(u)?.state === 'accepted' });
    this.unregisterContactKeys = registerContactKeys(contactKeys);
    useSharedKeyDerivation(cachedSharedKey);
    this.userId = identity.userId;
    this.deviceId = deviceId;
    this.settings = this.loadSettings();

    const brokerUrl = this.settings.brokerUrl === NO_BROKER ? null : this.settings.brokerUrl;
    const caFile = opts.caFile ?? process.env.PARLEY_CA_FILE;
    this.mqtt = brokerUrl
      ? new MqttSignaling({ url: brokerUrl, identity, deviceId, signer: nodeSigner, ...(caFile ? { ca: loadCaFile(caFile) } : {}) })
      : null;
    const wsFactory = opts.wsClientFactory;
    this.signaling = new SignalRouter({
      identity, deviceId, signer: nodeSigner, mqtt: this.mqtt, mqttUrl: brokerUrl,
      homeSignalUrls: this.settings.signalUrls,
      wsFactory: wsFactory ? (url) => wsFactory(url, { identity, deviceId }) : null,
    });
    this.routes = new RouteBook(store);
    this.finder = new PeerFinder({
      identity, signer: nodeSigner, mesh: { send: (p, f) => this.mesh.send(p, f), state: (p) => this.mesh.state(p), peers: () => this.mesh.peers() } as MeshLike,
      rejects: this.rejects, isContact: (u) => this.contacts.isAccepted(u), discoverable: () => this.settings.discoverable,
      canRelay: () => this.settings.allowRelay,
      ownSignalAddrs: () => this.signaling.signalAddrs(),
      storesFor: (peer) => this.coordinator.holder.storesFor(this.contacts.accepted(), peer),
    });
    ({ registry: this.registry, serverIce: this.serverIce } = this.buildRegistry());
    this.discovery = new DiscoveryService({
      mesh: () => this.mesh, router: this.signaling, routes: this.routes, finder: this.finder, registry: () => this.registry, store,
      presence: (u) => this.presenceOf(u),
      onTrace: (trace) => this.onTrace(trace),
      relayOf: (u) => (this.relayClient.isRelayed(u) ? this.relayClient.path(u)?.via : undefined),
    });
    this.contactReach = new ContactReach({
      router: this.signaling,
      lookup: (u, step, t) => this.discovery.lookup(u, step, t),
      onError: (u, err) => { if (process.env.PARLEY_DEBUG) process.stderr.write(`[contact reach] ${u.slice(0, 8)}: ${String(err)}\n`); },
    });
    this.discoveryTiming = {
      slack: opts.discovery?.slack ?? envNumber('PARLEY_DISCOVERY_SLACK') ?? 2,
      graceMs: opts.discovery?.graceMs ?? envNumber('PARLEY_DISCOVERY_GRACE_MS') ?? 100,
    };
    const signalPort = {
      send: (to: string, kind: SignalKind, payload: unknown) => {
        const filtered = this.iceBlock.filter(to, kind, payload);
        if (filtered !== null) void this.signaling.send(to, kind, toWireSignal(kind, filtered));
      },
    };
    if (opts.meshFactory) {
      const discovery = this.discovery;
      this.mesh = opts.meshFactory(signalPort, this.userId, this.iceConfig(), {
        host: {
          lookup: (u, step, t) => discovery.find(u, step, t),
          lookupNow: (u, step) => discovery.lookupNow(u, step),
          useRoute: (u, r) => discovery.useRoute(u, r),
          report: (t) => discovery.report(t),
        },
        ...this.discoveryTiming,
      });
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
      sendSignal: (to, type, body) => this.contactReach.send(to, type, body),
      onRequest: (userId, name) => this.events.emit('contactRequest', { userId, name }),
      onAccepted: (userId) => {
        this.events.emit('contactAccepted', { userId, name: store.getContact(userId)?.name ?? shortName(userId) });
        this.presence?.track(userId);
        this.mesh.connect(userId);
      },
      onChanged: () => this.events.emit('contactsChanged', {}),
      guard: new ContactRequestGuard(DEFAULT_CONTACT_REQUEST_LIMITS, Date.now),
      blocklist: new Blocklist(store),
      onRefused: (code, reason) => this.refusedContactRequest(code, reason),
    });
    this.mailboxSeeds = this.resolveMailboxSeeds();
    this.mailbox = this.mailboxSeeds
      ? new MailboxTier({
        seeds: this.mailboxSeeds, identity, signer: nodeSigner, deviceId, rejects: this.rejects,
        isContact: (u) => this.contacts.isAccepted(u),
        storeLocal: (env) => this.delivery.acceptStored(env),
        onAck: (env) => this.delivery.acceptStoredAck(env),
        nudge: (to) => this.signaling.send(to, 'mailbox', {}),
        pollMs: opts.mailboxPollMs,
        nudgeMinIntervalMs: opts.mailboxNudgeMinIntervalMs,
        onError: (message) => this.mailboxError(message),
      })
      : null;
    const isContact = (u: string): boolean => this.contacts.isAccepted(u);
    this.coordinator = new CoordinatorService({
      holder: {
        store, identity, signer: nodeSigner, mesh: this.mesh, rejects: this.rejects, isContact,
        enabled: () => this.settings.coordinator, limits: opts.coordinatorLimits,
      },
      depositor: {
        identity, signer: nodeSigner, mesh: this.mesh, rejects: this.rejects,
        coordinatorsFor: (to) => this.finder.connected().filter((p) => this.finder.neighbour(p)?.storesFor.includes(to)),
      },
      forwarded: {
        identity, signer: nodeSigner, mesh: this.mesh, rejects: this.rejects, isContact,
        storeLocal: (env) => this.delivery.acceptStored(env),
      },
    });
    this.relayServer = new RelayServer({
      identity, signer: nodeSigner, mesh: this.mesh, rejects: this.rejects,
      isContact: (u) => this.contacts.isAccepted(u), enabled: () => this.settings.allowRelay,
      limits: opts.relayLimits ?? relayLimitsFromEnv(),
      ...(process.env.PARLEY_DEBUG ? { log: (line: string) => process.stderr.write(`${line}\n`) } : {}),
    });
    this.relayClient = new RelayClient({
      identity, signer: nodeSigner, mesh: this.mesh, rejects: this.rejects,
      isContact: (u) => this.contacts.isAccepted(u),
      neighbour: (u) => this.finder.neighbour(u), connected: () => this.finder.connected(),
      deliver: (source, frame) => this.delivery.onFrame(source, frame),
    });
    this.routed = new RoutedMesh(this.mesh, this.relayClient);
    this.delivery = new Delivery({
      store, identity, signer: nodeSigner, mesh: this.routed, rejects: this.rejects,
      isContact,
      onMessage: (m) => this.events.emit('message', m),
      onStatus: (id, status) => this.events.emit('status', { id, status }),
      // Tier 1 (coordinator peers) before tier 2 (the mailbox), DESIGN section 7.
      mailbox: tieredStoreAndForward([{ deposit: (to, items) => this.coordinator.depositor.deposit(to, items) }, this.mailbox]),
      unreachable: (peer) => this.unreachable(peer),
      noPathWaitMs: opts.noPathWaitMs,
      owedAckLimits: opts.owedAckLimits,
      returnAcks: (sender, ids) => this.mailbox?.returnAcks(sender, ids),
      directPath: (peer) => this.routed.pathOf(peer) === 'direct',
      onOther: (env) => {
        if (env.type === 'PEER_QUERY' || env.type === 'PEER_FOUND' || env.type === 'PEER_NOT_FOUND' || env.type === 'NETWORK_STATE') {
          this.finder.onEnvelope(env.from, env);
          if (env.type === 'NETWORK_STATE' && (this.finder.neighbour(env.from)?.storesFor.length ?? 0) > 0) {
            store.upsertCoordinator({ userId: env.from, canStore: true, lastSeen: Date.now() });
          }
        } else if (isCoordinatorType(env.type)) this.coordinator.onEnvelope(env);
        else if (env.type === 'RELAY_REQUEST' || env.type === 'RELAY_RESPONSE' || env.type === 'RELAY') this.onRelayEnvelope(env.from, env.type, env.body);
        else this.files.onEnvelope(env);
      },
    });
    this.files = new FileTransfers({
      store, identity, signer: nodeSigner, rejects: this.rejects,
      channels: this.remoteMesh ? this.remoteMesh.fileChannels : isChannelMesh(this.mesh) ? meshFileChannels(this.mesh, 'poll') : null,
      sendFrame: (peer, frame) => this.mesh.send(peer, frame),
      isContact: (u) => this.contacts.isAccepted(u),
      isConnected: (u) => this.mesh.state(u) === 'CONNECTED',
      settings: () => this.settings,
      partialDir: join(opts.profileDir, 'partial'),
      onEvent: (info) => this.events.emit('file', info),
    });
    // Presence lives on the broker; a device without one learns of peers through discovery only.
    this.presence = this.mqtt ? new PresenceTracker({
      signaling: this.mqtt,
      heartbeatMs: opts.presence?.heartbeatMs,
      timeoutMs: opts.presence?.offlineAfterMs,
    }) : null;
    this.presence?.on('presence', ({ userId, presence }) => {
      this.setPresence(userId, presence, Date.now());
      this.events.emit('presence', { userId, presence });
      // A contact that just came online is worth a fresh connection attempt.
      if (presence !== 'offline' && this.mesh.state(userId) !== 'CONNECTED') this.reconnect(userId);
      if (presence === 'offline') this.delivery.onPathLost(userId);
    });
    this.signaling.on('routeFailed', ({ userId, reason }) => {
      if (process.env.PARLEY_DEBUG) process.stderr.write(`[route failed] ${userId.slice(0, 8)}: ${reason}\n`);
      this.mesh.routeFailed?.(userId);
    });
  }

  /** The registry link (announces, lookups) and its ICE/TURN source for the current settings. */
  private buildRegistry(): { registry: RegistryLink | null; serverIce: ServerIce | null } {
    const { identity } = this.loaded;
    const url = this.settings.registryUrl;
    const registryFactory = this.opts.registryClientFactory;
    const registryClient = url && registryFactory ? registryFactory(url, { identity }) : null;
    if (!url || !registryClient) return { registry: null, serverIce: null };
    const fetchIce = registryClient.ice?.bind(registryClient);
    const serverIce = fetchIce
      ? new ServerIce({
        fetch: (signal) => fetchIce({ signal }),
        onChange: () => this.mesh.setIceServers?.(this.iceConfig()),
        onError: (err) => this.serverIceError(err),
      })
      : null;
    const registry = new RegistryLink({
      client: registryClient, url, networkId: this.settings.networkId,
      identity, signer: nodeSigner, deviceId: this.deviceId, ownSignalAddrs: () => this.signaling.signalAddrs(),
      coordinatorStatus: () => (this.settings.coordinator ? { peers: this.finder.connected().length, stored: this.coordinator.holder.stats().held } : null),
      onError: (what, err) => {
        this.events.emit('error', { code: 'REGISTRY', message: `registry ${what} failed: ${(err as Error).message}; check the registry URL in settings` });
        this.events.emit('network', this.networkStatus());
      },
      onAnnounced: () => this.events.emit('network', this.networkStatus()),
    });
    return { registry, serverIce };
  }

  /** The registry URL or network id changed: the old link stops, the new one announces now. */
  private applyRegistry(): void {
    this.registry?.stop();
    this.serverIce?.stop();
    ({ registry: this.registry, serverIce: this.serverIce } = this.buildRegistry());
    this.registry?.start();
    void this.serverIce?.refresh();
    this.mesh.setIceServers?.(this.iceConfig());
    this.events.emit('network', this.networkStatus());
  }

  /** What RTCPeerConnection gets: the user's ICE servers (settings, --ice) first and winning, then the server's. */
  private iceConfig(): IceServerEntry[] {
    return mergeIceServers(this.settings.iceServers.map(iceServerFromUrl), this.serverIce?.servers ?? []);
  }

  async fetchServerIce(): Promise<void> {
    await this.serverIce?.refresh();
  }

  /** A refused answer is counted like any bad input; the user hears at most every 10 minutes (calls still work without TURN where NATs allow). */
  private serverIceError(err: Error): void {
    const refused = err instanceof RegistryRequestError && err.error === 'BAD_RESPONSE';
    if (refused) this.rejects.count('SCHEMA', err.reason.slice(0, 300), 'ice');
    if (process.env.PARLEY_DEBUG) process.stderr.write(`[ice] ${err.message}\n`);
    const now = Date.now();
    if (now - this.lastIceError < 600_000) return;
    this.lastIceError = now;
    this.emitError({
      code: 'ICE_SERVERS',
      message: `Could not get ICE/TURN servers from the registry (${this.settings.registryUrl}): ${err.message.slice(0, 200)}. Calls through strict NATs may fail; Parley keeps trying. Add a TURN server in Settings if this persists.`,
    });
  }

  /** Errors from before start() (nobody listens yet) are told right after it. */
  private readonly earlyErrors: Array<ApiEvents['error']> = [];
  private started = false;

  private emitError(error: ApiEvents['error']): void {
    if (this.started) this.events.emit('error', error);
    else this.earlyErrors.push(error);
  }

  private embeddedBroker: { close(): Promise<void> } | null = null;
  private requestTimer: ReturnType<typeof setInterval> | undefined;

  get brokerUrl(): string {
    return this.settings.brokerUrl;
  }

  private onTrace(trace: RouteTrace): void {
    const info = this.peerInfo.get(trace.userId);
    if (info) this.peerInfo.set(trace.userId, { ...info, foundBy: trace.winner });
    this.events.emit('route', trace);
  }

  /** The default mailbox setting ('') means the embedded one (in the background server) when the embedded broker is in use. */
  get usesEmbeddedMailbox(): boolean {
    return this.settings.mailbox === '' && this.settings.brokerUrl === DEFAULT_BROKER_URL;
  }

  private resolveMailboxSeeds(): string[] | null {
    const setting = this.settings.mailbox;
    if (setting === 'none') return null;
    if (setting === '') return this.usesEmbeddedMailbox ? [embeddedMailboxAddr()] : null;
    return setting.split(',').map((s) => s.trim()).filter(Boolean);
  }

  /**
   * No path now (no channel, no relay): the contact is offline, every connection attempt failed,
   * or the last connection or attempt was lost and its retry has not connected (RECONNECTING).
   * Waiting for the mesh to give up would hold messages through the whole backoff (about 100 s
   * with five 15 s attempts); a copy that also arrives directly later is de-duplicated.
   */
  private unreachable(peer: string): boolean {
    const state = this.routed.state(peer);
    if (state === 'CONNECTED') return false;
    return state === 'FAILED' || state === 'STORE_AND_FORWARD' || state === 'RECONNECTING' || (this.store.getContact(peer)?.presence ?? 'offline') === 'offline';
  }

  /** Someone who is no longer a contact (declined, even after accepting; blocked): no presence, no open channel. */
  private dropLinks(userId: string): void {
    this.presence?.untrack(userId);
    this.mesh.disconnect(userId);
  }

  /** Told at most once a minute: the messages wait here and are retried, so this is not urgent. */
  private mailboxError(message: string): void {
    if (process.env.PARLEY_DEBUG) process.stderr.write(`[mailbox] ${message}\n`);
    const now = Date.now();
    if (now - this.lastMailboxError < 60_000) return;
    this.lastMailboxError = now;
    this.events.emit('error', {
      code: 'MAILBOX_UNAVAILABLE',
      message: `The mailbox (${(this.mailboxSeeds ?? []).join(', ')}) could not be used: ${message.slice(0, 200)}. Messages for offline contacts wait on this device and are tried again; check the mailbox setting if this persists.`,
    });
  }

  start(embeddedBroker: { close(): Promise<void> } | null): this {
    this.embeddedBroker = embeddedBroker;
    this.store.saveIdentityRow({ userId: this.userId, deviceId: this.deviceId, displayName: this.settings.displayName, createdAt: Date.now() });
    this.wireSignaling();
    this.wireMesh();
    for (const userId of this.contacts.accepted()) {
      this.setPresence(userId, 'offline', this.store.getContact(userId)?.lastSeen ?? null);
      this.presence?.track(userId);
    }
    this.routes.ageOut();
    this.signaling.start();
    this.delivery.start();
    this.coordinator.start();
    this.files.start();
    this.mailbox?.start();
    this.presence?.start();
    this.finder.start();
    this.relayServer.start();
    this.relayClient.start();
    this.registry?.start();
    this.requestTimer = setInterval(() => this.contacts.resendDue(), CONTACT_REQUEST_TICK_MS);
    this.requestTimer.unref?.();
    for (const userId of this.contacts.accepted()) this.mesh.connect(userId);
    // After startHost returns, so whoever started us has subscribed.
    if (this.notices.length > 0) setTimeout(() => { for (const message of this.notices) this.events.emit('error', { code: 'SETTINGS_RESET', message }); }, 0);
    this.started = true;
    if (this.earlyErrors.length > 0) setTimeout(() => { for (const error of this.earlyErrors.splice(0)) this.events.emit('error', error); }, 0);
    return this;
  }

  /**
   * Stored settings are input too (the file may be old, edited or written by another version):
   * each field is checked like a settings.update, and an unusable one falls back to its default
   * with a notice the user sees. Overrides from the command line must be valid or start fails.
   */
  private loadSettings(): Settings {
    let stored: Record<string, unknown> = {};
    try {
      const value = this.store.getSetting(SETTINGS_KEY);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) stored = value as Record<string, unknown>;
      else if (value !== undefined) this.notices.push('The saved settings were unreadable; using the defaults. Open Settings to set them again.');
    } catch {
      this.notices.push('The saved settings were unreadable; using the defaults. Open Settings to set them again.');
    }
    const defaults: Settings = {
      displayName: shortName(this.loaded.identity.userId),
      brokerUrl: DEFAULT_BROKER_URL,
      iceServers: [],
      downloadsDir: this.opts.downloadsDir ?? join(this.opts.profileDir, 'downloads'),
      maxFileBytes: DEFAULT_MAX_FILE_BYTES,
      mailbox: '',
      signalUrls: [],
      registryUrl: null,
      networkId: DEFAULT_NETWORK_ID,
      discoverable: true,
      coordinator: false,
      allowRelay: false,
    };
    const checked = checkStoredSettings(stored, defaults);
    this.notices.push(...checked.notices);
    for (const [flag, schema, value] of [
      ['--signal', zSignalUrls, this.opts.signalUrls], ['--registry', zRegistryUrl, this.opts.registryUrl], ['--network', zNetworkId, this.opts.networkId],
    ] as const) {
      const parsed = value === undefined ? null : schema.safeParse(value);
      if (parsed && !parsed.success) throw new HostCallError('BAD_SETTING', `${flag}: ${parsed.error.issues[0]?.message ?? 'not valid'}`);
    }
    if (this.opts.brokerUrl !== undefined && this.opts.brokerUrl !== NO_BROKER) {
      const why = brokerUrlProblem(this.opts.brokerUrl);
      if (why) throw new HostCallError('BAD_SETTING', `--broker ${JSON.stringify(this.opts.brokerUrl.slice(0, 80))}: ${why}`);
    }
    for (const url of this.opts.iceServers ?? []) {
      const why = iceUrlProblem(url);
      if (why) throw new HostCallError('BAD_SETTING', `--ice: ${why}`);
    }
    const files = this.opts.fileSettings ?? {};
    for (const [flag, schema, value] of [['--downloads', zDownloadsDir, files.downloadsDir], ['--max-file-bytes', zMaxFileBytes, files.maxFileBytes]] as const) {
      const parsed = value === undefined ? null : schema.safeParse(value);
      if (parsed && !parsed.success) throw new HostCallError('BAD_SETTING', `${flag}: ${parsed.error.issues[0]?.message ?? 'not valid'}`);
    }
    const settings: Settings = {
      displayName: this.opts.name ?? checked.settings.displayName,
      brokerUrl: this.opts.brokerUrl ?? checked.settings.brokerUrl,
      iceServers: this.opts.iceServers ?? checked.settings.iceServers,
      downloadsDir: files.downloadsDir ?? checked.settings.downloadsDir,
      maxFileBytes: files.maxFileBytes ?? checked.settings.maxFileBytes,
      mailbox: this.opts.mailbox ?? checked.settings.mailbox,
      signalUrls: this.opts.signalUrls ?? checked.settings.signalUrls,
      registryUrl: this.opts.registryUrl ?? checked.settings.registryUrl,
      networkId: this.opts.networkId ?? checked.settings.networkId,
      discoverable: checked.settings.discoverable,
      coordinator: this.opts.coordinator ?? checked.settings.coordinator,
      allowRelay: this.opts.allowRelay ?? checked.settings.allowRelay,
    };
    this.store.setSetting(SETTINGS_KEY, this.notices.length > 0 ? { ...checked.settings, displayName: settings.displayName, allowRelay: settings.allowRelay } : { ...stored, displayName: settings.displayName, allowRelay: settings.allowRelay });
    return settings;
  }

  private wireSignaling(): void {
    this.signaling.on('state', ({ state, attempt }) => {
      this.signalingState = state;
      this.events.emit('signaling', { state, attempt });
      if (state === 'connected') this.contacts.resendOutgoing();
    });
    this.signaling.on('rejected', ({ code, reason }) => this.rejects.count(code, reason, 'signaling'));
    this.signaling.on('servers', () => this.events.emit('network', this.networkStatus()));
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
        case 'mailbox':
          this.mailbox?.nudged();
          return;
        case 'offer': case 'answer': case 'iceCandidate': {
          const payload = this.iceBlock.filter(m.from, m.type, fromWireSignal(m.type, m.body));
          if (payload === null) return;
          void this.mesh.handleSignal(m.from, m.type, payload).catch((err: Error) => {
            this.rejects.count('SCHEMA', `signal ${m.type}: ${err.message}`, 'signaling');
          });
          return;
        }
      }
    });
  }

  private wireMesh(): void {
    this.mesh.on('state', ({ userId, state, attempt }) => {
      // A relay carries this contact while the mesh keeps trying the direct path underneath.
      if (state !== 'CONNECTED' && this.relayClient.isRelayed(userId)) {
        this.publishPeer(userId, 'CONNECTED', attempt, 'relay');
        return;
      }
      this.publishPeer(userId, state, attempt, state === 'CONNECTED' ? 'direct' : 'none');
      if ((state === 'RECONNECTING' || state === 'FAILED' || state === 'STORE_AND_FORWARD') && this.contacts.isAccepted(userId)) this.relayClient.want(userId);
      // The discovery chain found no path: its store-and-forward step.
      if (state === 'STORE_AND_FORWARD') void this.delivery.storeAndForward(userId);
      else if (state === 'FAILED' || state === 'RECONNECTING' || state === 'DISCONNECTED') this.delivery.onPathLost(userId);
    });
    this.mesh.on('open', (userId) => {
      // Whoever called whom, the way we signal this peer now worked: cache it (step 2).
      const route = this.signaling.routeOf(userId);
      if (route !== undefined) this.routes.worked(userId, route);
      // A direct channel takes over from a relay at once (the outbox resends on open; the receiver de-duplicates).
      this.relayClient.direct(userId);
      this.finder.connectionsChanged({ opened: userId });
      this.delivery.onChannelOpen(userId);
      this.coordinator.onChannelOpen(userId);
      this.files.onPeerOpen(userId);
      this.heap.soon();
    });
    this.mesh.on('close', (userId) => {
      this.finder.connectionsChanged({ closed: userId });
      this.relayServer.onPeerGone(userId);
      this.relayClient.channelClosed(userId);
    });
    this.mesh.on('pair', (userId, candidatePair) => {
      const info = this.peerInfo.get(userId);
      if (!info || info.state !== 'CONNECTED') return;
      const next: PeerInfo = { ...info, candidatePair };
      this.peerInfo.set(userId, next);
      this.events.emit('connection', next);
    });
    // Our own data channel to userId (relayed frames come through relayClient.deliver instead).
    this.mesh.on('frame', (userId, frame) => this.delivery.onFrame(userId, frame, true));
    this.relayClient.on('up', ({ peer, via }) => {
      if (this.mesh.state(peer) === 'CONNECTED') return;
      this.publishPeer(peer, 'CONNECTED', 0, 'relay');
      const last = this.discovery.lastTrace(peer);
      this.discovery.note({
        userId: peer, startedAt: last?.startedAt ?? Date.now(), steps: last?.steps ?? [], winner: last?.winner ?? null,
        route: last?.route ?? null, result: 'connected', path: 'relay', relayVia: via,
      });
      this.delivery.onChannelOpen(peer);
    });
    this.relayClient.on('down', ({ peer }) => {
      if (this.mesh.state(peer) === 'CONNECTED') return;
      const state = this.mesh.state(peer);
      this.publishPeer(peer, state, this.peerInfo.get(peer)?.attempt ?? 0, 'none');
      // The relay was the only path: what it had not delivered goes to store and forward.
      void this.delivery.storeAndForward(peer);
    });
  }

  private publishPeer(userId: string, state: ConnectionState, attempt: number, path: DeliveryPath): void {
    const foundBy = this.discovery.lastTrace(userId)?.winner;
    const prev = this.peerInfo.get(userId);
    const info: PeerInfo = { userId, state, attempt, path, ...(foundBy !== undefined ? { foundBy } : {}) };
    this.peerInfo.set(userId, info);
    if (prev && prev.state === state && prev.path === path && prev.attempt === attempt) return;
    this.events.emit('connection', info);
  }

  private onRelayEnvelope(from: string, type: 'RELAY_REQUEST' | 'RELAY_RESPONSE' | 'RELAY', body: unknown): void {
    switch (type) {
      case 'RELAY_REQUEST': {
        const b = body as DataChannelBodies['RELAY_REQUEST'];
        if (b.source === undefined) this.relayServer.onRequest(from, b);
        else this.relayClient.onForwardedRequest(from, b);
        return;
      }
      case 'RELAY_RESPONSE': {
        const b = body as DataChannelBodies['RELAY_RESPONSE'];
        if (!this.relayServer.onResponse(from, b)) this.relayClient.onResponse(from, b);
        return;
      }
      case 'RELAY': {
        const b = body as DataChannelBodies['RELAY'];
        if (b.source === undefined) this.relayServer.onRelay(from, b);
        else this.relayClient.onRelay(from, b);
      }
    }
  }

  /**
   * A contact's presence as its contacts row says, read once and then kept in a map that every
   * write of the row also updates (setPresence is the only writer): discovery step 1 (budget 0 ms)
   * reads no database.
   */
  private presenceOf(userId: string): Presence {
    let p = this.presenceSeen.get(userId);
    if (p === undefined) {
      p = this.store.getContact(userId)?.presence ?? 'offline';
      if (this.presenceSeen.size >= MAX_PRESENCE_SEEN) this.presenceSeen.delete(this.presenceSeen.keys().next().value as string);
      this.presenceSeen.set(userId, p);
    }
    return p;
  }

  private setPresence(userId: string, presence: Presence, lastSeen: number | null): void {
    this.store.setPresence(userId, presence, lastSeen);
    this.presenceSeen.set(userId, presence);
  }

  private reconnect(userId: string): void {
    const state = this.mesh.state(userId);
    if (state === 'FAILED' || state === 'STORE_AND_FORWARD' || state === 'DISCOVERING') this.mesh.retry(userId);
    else if (state === 'DISCONNECTED') this.mesh.connect(userId);
  }

  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
    return this.events.on(event, listener);
  }

  private refusedNoticeAt = 0;
  private refusedSinceNotice = 0;

  /** Counts a dropped contact request; tells the user about floods at most once a minute. */
  private refusedContactRequest(code: RejectCode, reason: string): void {
    this.rejects.count(code, reason, 'contactRequest');
    if (code !== 'RATE_LIMITED' && code !== 'FULL') return;
    this.refusedSinceNotice++;
    const now = Date.now();
    if (now - this.refusedNoticeAt < CONTACT_FLOOD_NOTICE_MS) return;
    this.refusedNoticeAt = now;
    const n = this.refusedSinceNotice;
    this.refusedSinceNotice = 0;
    this.events.emit('error', {
      code: 'CONTACT_REQUESTS_LIMITED',
      message: `${n} contact request${n === 1 ? ' was' : 's were'} refused: too many at once, or ${DEFAULT_CONTACT_REQUEST_LIMITS.maxPending} are already waiting. Answer or block the ones you know nothing about, or use “Clear all”.`,
    });
  }

  rejectStats(): Record<string, number> {
    return { ...this.rejects.snapshot() };
  }

  fileStats(): FileStats {
    return this.files.stats();
  }

  owedAckStats(): OwedAckStats {
    return this.delivery.owedAckStats();
  }

  mailboxStats(): MailboxStats | null {
    return this.mailbox?.stats() ?? null;
  }

  coordinatorStats(): HolderStats & { enabled: boolean; receivedForwarded: number } {
    return { enabled: this.settings.coordinator, ...this.coordinator.holder.stats(), receivedForwarded: this.coordinator.forwarded.received };
  }

  relayStats(): { server: RelayServerStats & { pairs: number }; client: RelayClientStats; paths: Record<string, string> } {
    const paths: Record<string, string> = {};
    for (const userId of this.contacts.accepted()) {
      const path = this.routed.pathOf(userId);
      if (path) paths[userId] = path === 'relay' ? `relay:${this.relayClient.path(userId)?.via ?? ''}` : path;
    }
    return { server: { ...this.relayServer.counters, pairs: this.relayServer.pairCount }, client: { ...this.relayClient.counters }, paths };
  }

  private async openFile(call: 'file.open' | 'file.show', id: string): Promise<{ ok: true }> {
    const opener = this.opts.opener;
    if (!opener) throw new FileTransferError('NOT_AVAILABLE', 'Opening files is only possible in the desktop app; in web mode use the Download link.');
    const path = this.files.completedPath(id);
    if (call === 'file.show') {
      opener.show(path);
      return { ok: true };
    }
    const error = await opener.open(path);
    if (error) throw new FileTransferError('OPEN_FAILED', `Could not open ${basename(path)}: ${error}. Try Show in folder.`);
    return { ok: true };
  }

  private async previewFile(id: string): Promise<{ ok: true; url: string }> {
    const path = this.files.completedPath(id);
    const preview = await previewDataUrl(path);
    if ('url' in preview) return { ok: true, url: preview.url };
    throw new FileTransferError(preview.error, preview.error === 'NOT_AN_IMAGE'
      ? `${basename(path)} is not a PNG, JPEG, GIF, WebP or BMP image by its bytes, so it has no preview.`
      : `${basename(path)} is over ${MAX_PREVIEW_BYTES / 1024 / 1024} MiB, too large to preview; open it instead.`);
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
        const before = this.settings;
        this.settings = { ...this.settings, ...stripUndefined(args) } as Settings;
        this.store.setSetting(SETTINGS_KEY, this.settings);
        // Applied now: signal servers, registry and network id, the coordinator and relay settings,
        // and discoverable. The broker, ICE servers and mailbox are wired at start; the dialog says so.
        if (this.settings.registryUrl !== before.registryUrl || this.settings.networkId !== before.networkId) this.applyRegistry();
        if (args.signalUrls && args.signalUrls.join('\n') !== before.signalUrls.join('\n')) {
          this.signaling.setHomeServers(this.settings.signalUrls);
          void this.registry?.announce();
        }
        // Contacts learn at once whether we hold messages for them now; the registry too.
        if (this.settings.coordinator !== before.coordinator) {
          this.finder.sendNetworkState();
          void this.registry?.announce();
          void this.registry?.heartbeat();
        } else if (this.settings.discoverable !== before.discoverable) {
          // Peers answer PEER_QUERY from what we last told them: tell them now, not at the next interval.
          this.finder.sendNetworkState();
        }
        // Contacts learn at once whether we relay for them (canRelay); turning it off ends pairs at their next frame.
        if (this.settings.allowRelay !== before.allowRelay) this.finder.sendNetworkState();
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
        if (!args.accept) this.dropLinks(args.userId);
        return { ok: true };
      }
      case 'contacts.block': {
        const args = raw as ApiArgs<'contacts.block'>;
        if (args.userId === this.userId) throw new HostCallError('SELF_CONTACT', 'That is your own userId.');
        this.contacts.block(args.userId);
        this.dropLinks(args.userId);
        return { ok: true };
      }
      case 'contacts.clearRequests':
        return { cleared: this.contacts.clearRequests() };
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
        if (args.open) this.presence?.openChat(args.userId);
        else this.presence?.closeChat(args.userId);
        // Opening a chat with someone we cannot reach is the moment to look for them again.
        if (args.open && this.contacts.isAccepted(args.userId) && this.mesh.state(args.userId) !== 'CONNECTED') this.reconnect(args.userId);
        return { ok: true };
      }
      case 'connection.retry': {
        const args = raw as ApiArgs<'connection.retry'>;
        // A retry opens a connection and sends an offer: only to people the user accepted.
        if (!this.contacts.isAccepted(args.userId)) throw new HostCallError('NOT_A_CONTACT', 'You can only reconnect to accepted contacts.');
        this.mesh.retry(args.userId);
        return { ok: true };
      }
      case 'file.send': {
        const args = raw as ApiArgs<'file.send'>;
        return this.files.send(args.to, args.path, args.thumb).then((id) => ({ ok: true as const, id }));
      }
      case 'file.accept':
        return this.files.accept((raw as ApiArgs<'file.accept'>).id).then(() => ({ ok: true as const }));
      case 'file.decline':
        this.files.decline((raw as ApiArgs<'file.decline'>).id);
        return { ok: true };
      case 'file.cancel':
        this.files.cancel((raw as ApiArgs<'file.cancel'>).id);
        return { ok: true };
      case 'file.open':
      case 'file.show':
        return this.openFile(call, (raw as ApiArgs<'file.open'>).id);
      case 'file.preview':
        return this.previewFile((raw as ApiArgs<'file.preview'>).id);
      case 'files.list': {
        const args = raw as ApiArgs<'files.list'>;
        return this.files.list(args.with, args.limit);
      }
      case 'status':
        return { signaling: this.signalingState, brokerUrl: this.settings.brokerUrl, peers: this.peers(), ...(this.notices.length ? { notices: [...this.notices] } : {}) };
      case 'network.status':
        return this.networkStatus();
      case 'route.get':
        return { trace: this.discovery.lastTrace((raw as ApiArgs<'route.get'>).userId) };
      case 'route.lookup': {
        const args = raw as ApiArgs<'route.lookup'>;
        return this.discovery.find(args.userId, args.step, args.timeoutMs);
      }
      case 'route.use': {
        const args = raw as ApiArgs<'route.use'>;
        this.requireRemoteMesh();
        return this.discovery.useRoute(args.userId, args.route).then(() => ({ ok: true as const }));
      }
      case 'route.report': {
        const args = raw as ApiArgs<'route.report'>;
        if (!this.requireRemoteMesh().isSession(args.session)) throw new HostCallError('MESH_DETACHED', 'Another window took over the connections; reload this one to use it.');
        this.discovery.report(args.trace);
        return { ok: true };
      }
      case 'mesh.attach': {
        const { session, peers } = this.requireRemoteMesh().attach();
        return { session, peers, selfId: this.userId, iceServers: this.settings.iceServers, iceConfig: this.iceConfig(), discovery: this.discoveryTiming };
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

  private networkStatus(): NetworkStatus {
    return {
      signalServers: this.signaling.serverList().map(({ url, kind, state, home }) => ({ url, kind, state, home })),
      signalAddrs: this.signaling.signalAddrs(),
      registry: this.registry
        ? { url: this.registry.url, networkId: this.settings.networkId, lastAnnounceOk: this.registry.lastAnnounceOk, lastError: this.registry.lastError }
        : null,
    };
  }

  private peers(): PeerInfo[] {
    return this.contacts.accepted().map((userId) => this.peerInfo.get(userId) ?? { userId, state: this.mesh.state(userId), attempt: 0, path: 'none' });
  }

  async close(): Promise<void> {
    clearInterval(this.requestTimer);
    this.delivery.stop();
    this.coordinator.stop();
    this.files.close();
    await this.mailbox?.stop();
    this.presence?.stop();
    this.finder.stop();
    this.relayClient.stop();
    this.relayServer.stop();
    this.registry?.stop();
    this.serverIce?.stop();
    this.mesh.close();
    await this.signaling.stop();
    await this.embeddedBroker?.close();
    this.unregisterContactKeys();
    this.store.close();
  }
}

function toChatMessage(m: StoredMessage): ChatMessage {
  return { id: m.id, from: m.sender, to: m.recipient, text: m.text, ts: m.ts, status: m.status };
}

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
