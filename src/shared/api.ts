/**
 * The one contract between the UI (renderer, untrusted) and the host services.
 * Electron (ipcMain + preload), web mode (token-guarded WebSocket) and the headless peer all
 * implement exactly this. Every call's arguments are validated with the schema below at the
 * host boundary; results and events are produced by trusted code and only typed.
 */
import { z } from 'zod';
import { brokerUrlProblem, iceUrlProblem } from './settings-urls';
import type { IceServerEntry } from './schemas/ice';
import { DISCOVERY_STEPS, HOST_STEPS, MAX_TRACE_STEPS, STEP_REASONS, type HostLookup, type RouteTrace } from './discovery';
import { zCandidatePair, type CandidatePair } from './candidate-pair';
import { MAX_FILE_THUMB_BASE64_CHARS } from './schemas/datachannel';

export const USER_ID_RE = /^[0-9a-f]{64}$/;
export const zUserId = z.string().regex(USER_ID_RE, 'userId must be 64 lowercase hex characters');
const zName = z.string().trim().min(1).max(64);
const zMeshSession = z.string().regex(/^[0-9a-f]{32}$/, 'mesh session id is 32 hex characters');
/** A data-channel frame is at most 64 KiB; in UTF-16 code units never more than that. */
export const MAX_MESH_FRAME_CHARS = 64 * 1024;
const zText = z.string().min(1).max(16_000);
/** '' (default), 'none', or a comma-separated list of HOST:PORT mailbox nodes. */
export const MAILBOX_SETTING_RE = /^(|none|[^\s:,]+:\d{1,5}(,[^\s:,]+:\d{1,5})*)$/;
const zSignalAddrArg = z.string().max(512).regex(/^[a-z][a-z0-9+.-]{0,15}:\/\/[^\s]+$/, 'must be a URL such as ws://host:port/deviceId');
const zWsUrl = z.string().max(512).regex(/^wss?:\/\/[^\s/?#]+\/?$/, 'must be a signal server URL such as ws://host:port');
const zNetworkIdArg = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'networkId is 1-64 of A-Z a-z 0-9 _ -');
const zRouteHint = z.object({ signalAddr: zSignalAddrArg.nullable(), via: z.string().max(256).optional(), canRelay: z.boolean().optional() }).strict();
/** A trace reported by the renderer's mesh: untrusted, so every field is bounded. */
const zRouteTrace = z.object({
  userId: zUserId,
  startedAt: z.number().int().min(0),
  steps: z.array(z.object({
    step: z.enum(DISCOVERY_STEPS), ms: z.number().min(0).max(3_600_000), budgetMs: z.number().min(0).max(60_000),
    outcome: z.enum(['found', 'none', 'timeout', 'error', 'skipped']), detail: z.string().max(256).optional(),
    reason: z.enum(STEP_REASONS).optional(), asked: z.number().int().min(0).max(10_000).optional(), answers: z.number().int().min(0).max(10_000).optional(),
    concurrent: z.number().int().min(0).max(100_000).optional(),
  }).strict()).max(MAX_TRACE_STEPS + 1),
  winner: z.enum(DISCOVERY_STEPS).nullable(),
  route: zRouteHint.nullable(),
  result: z.enum(['discovering', 'connecting', 'connected', 'failed', 'stored']),
  connectMs: z.number().min(0).max(3_600_000).optional(),
}).strict();

/** Rejects a URL with the reason the check gives. */
function zCheckedUrl(problem: (value: string) => string | null) {
  return z.string().superRefine((value, ctx) => {
    const why = problem(value);
    if (why) ctx.addIssue({ code: 'custom', message: why });
  });
}
export const zBrokerUrl = zCheckedUrl(brokerUrlProblem);
/** A broker URL, or 'none': no MQTT at all (WebSocket signaling only). */
export const zBrokerSetting = z.union([z.literal('none'), zBrokerUrl]);
export const zSignalUrls = z.array(zWsUrl).max(4, 'At most 4 signal servers.');
export const zRegistryUrl = z.string().max(512).regex(/^https?:\/\/[^\s]+$/, 'Registry URL must start with http:// or https://, e.g. http://127.0.0.1:18886');
export const zNetworkId = zNetworkIdArg;
export const zIceServers = z.array(zCheckedUrl(iceUrlProblem)).max(16, 'At most 16 ICE servers.');
export const zDisplayName = zName;
export const zDownloadsDir = z.string().min(1).max(4096).refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'downloadsDir must be an absolute path');
export const zMaxFileBytes = z.number().int().min(1).max(64 * 1024 ** 3);
export const zMailboxSetting = z.string().max(2000).regex(MAILBOX_SETTING_RE, "mailbox: '', 'none' or HOST:PORT,...");
/** h1, h2, … opened by the host; r1, r2, … opened by the peer and announced by the renderer. */
const zFileChannelId = z.string().regex(/^[hr][0-9]{1,15}$/, 'file channel id is h or r and a number');
/** One file-channel message: a chunk of at most 64 KiB and its 5 header bytes. */
export const MAX_FILE_BRIDGE_BYTES = 64 * 1024 + 5;
/**
 * File-channel bytes cross the bridge as bytes: structured clone over Electron IPC, a binary
 * WebSocket frame in web mode (src/shared/bridge-binary.ts). A JSON frame cannot carry them.
 */
const zBridgeBytes = z.custom<Uint8Array>(
  // By tag too: a Uint8Array from another realm (a test's module context) fails instanceof.
  (d) => d instanceof Uint8Array || Object.prototype.toString.call(d) === '[object Uint8Array]',
  { message: 'data must be bytes (in web mode a binary frame), not text' },
).refine((d) => d.length <= MAX_FILE_BRIDGE_BYTES, `data is at most ${MAX_FILE_BRIDGE_BYTES} bytes`);

export const CONNECTION_STATES = [
  'DISCONNECTED', 'DISCOVERING', 'SIGNALING', 'CONNECTING', 'CONNECTED', 'RECONNECTING', 'FAILED', 'STORE_AND_FORWARD',
] as const;
export type ConnectionState = (typeof CONNECTION_STATES)[number];
export type DeliveryPath = 'direct' | 'relay' | 'coordinator' | 'mailbox' | 'none';
export type Presence = 'online' | 'chat-open' | 'offline';
/** pending → sent (left this device) → stored (held by the mailbox or a coordinator) → delivered → read. */
export type MessageStatus = 'pending' | 'sent' | 'stored' | 'delivered' | 'read' | 'failed';
export type ContactState = 'outgoing' | 'incoming' | 'accepted' | 'declined';
export type SignalingState = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface WhoAmI { userId: string; deviceId: string; name: string }
export interface Contact { userId: string; name: string; state: ContactState; presence: Presence; lastSeen: number | null }
export interface ChatMessage { id: string; from: string; to: string; text: string; ts: number; status: MessageStatus }
/**
 * `foundBy`: the discovery step that found the route of the current or last attempt.
 * `candidatePair`: while CONNECTED, the ICE candidate pair in use (host / srflx / prflx / relay),
 * once the mesh has read it from getStats().
 */
export interface PeerInfo { userId: string; state: ConnectionState; path: DeliveryPath; attempt: number; foundBy?: RouteTrace['winner']; candidatePair?: CandidatePair }
export type { CandidatePair, CandidateInfo, CandidateType } from './candidate-pair';
/**
 * brokerUrl 'none': no MQTT at all (WebSocket signaling only). signalUrls: WebSocket signal
 * servers to stay attached to. registryUrl/networkId: where to announce and look peers up.
 * discoverable: answer contacts' PEER_QUERY about me (seed 004 step 3).
 * coordinator: hold sealed messages that contacts deposit for my other contacts while those are
 * offline, and forward them when they connect (seed 004 STORE_MESSAGE; off by default).
 * allowRelay: carry frames between two of my contacts who can't connect directly (seed 004
 * `canRelay`); off by default: it spends my bandwidth and shows me who talks to whom.
 */
export interface Settings {
  displayName: string; brokerUrl: string; iceServers: string[];
  /**
   * Where undeliverable messages are deposited: '' = the default (the embedded mailbox when the
   * embedded broker is in use, otherwise none), 'none', or HOST:PORT,... of a mailbox node or cluster.
   */
  mailbox: string;
  signalUrls: string[]; registryUrl: string | null; networkId: string; discoverable: boolean;
  coordinator: boolean; allowRelay: boolean;
  /** Where received files are moved once their SHA-256 checked out. */
  downloadsDir: string;
  /** Offers of larger files are declined without asking (default 4 GiB). */
  maxFileBytes: number;
}

export type FileState = 'offered' | 'progress' | 'done' | 'failed';
/** One file transfer as both sides see it (the `file` event, and files.list). */
export interface FileInfo {
  id: string;
  peer: string;
  direction: 'in' | 'out';
  name: string;
  size: number;
  mime?: string;
  state: FileState;
  /** Bytes the receiver has verified and written. */
  bytes: number;
  /** Bytes per second over the last progress interval (progress events only). */
  rate?: number;
  /** Receiver, when done: where the file is. */
  path?: string;
  /** When failed: what happened, in words. */
  reason?: string;
  /**
   * An image's preview from the offer, as a `data:image/…;base64,` URL whose format the host checked
   * by its bytes (PNG, JPEG, GIF, WebP or BMP; never SVG). In files.list and every event but `progress`.
   */
  thumb?: string;
}
export const DEFAULT_MAX_FILE_BYTES = 4 * 1024 ** 3;
const zFileId = z.string().regex(/^[0-9a-f]{32}$/, 'file id is 32 hex characters');
export interface StatusSnapshot {
  signaling: SignalingState;
  brokerUrl: string;
  peers: PeerInfo[];
  /** Things the user should know about this run, e.g. a stored setting that was unusable and reset. */
  notices?: string[];
}
export interface SignalServerStatus { url: string; kind: 'mqtt' | 'ws'; state: SignalingState; home: boolean }
/** The network panel: how this device is reachable, and per contact how it was reached. */
export interface NetworkStatus {
  signalServers: SignalServerStatus[];
  signalAddrs: string[];
  registry: { url: string; networkId: string; lastAnnounceOk: number | null; lastError: string | null } | null;
}
export type { RouteTrace, RouteHint, StepTiming, DiscoveryStepName, HostLookup, StepReason } from './discovery';

/** Call name → argument schema. Results are in ApiResults. */
export const apiArgs = {
  whoami: z.object({}).strict(),
  'settings.get': z.object({}).strict(),
  'settings.update': z.object({
    displayName: zName.optional(),
    brokerUrl: zBrokerSetting.optional(),
    iceServers: zIceServers.optional(),
    downloadsDir: zDownloadsDir.optional(),
    maxFileBytes: zMaxFileBytes.optional(),
    mailbox: zMailboxSetting.optional(),
    signalUrls: zSignalUrls.optional(),
    registryUrl: zRegistryUrl.nullable().optional(),
    networkId: zNetworkIdArg.optional(),
    discoverable: z.boolean().optional(),
    coordinator: z.boolean().optional(),
    allowRelay: z.boolean().optional(),
  }).strict(),
  'contacts.list': z.object({}).strict(),
  'contacts.add': z.object({ userId: zUserId, name: zName.optional() }).strict(),
  'contacts.respond': z.object({ userId: zUserId, accept: z.boolean() }).strict(),
  'contacts.block': z.object({ userId: zUserId }).strict(),
  'contacts.clearRequests': z.object({}).strict(),
  'messages.list': z.object({ with: zUserId, limit: z.number().int().min(1).max(1000).optional() }).strict(),
  'messages.send': z.object({ to: zUserId, text: zText }).strict(),
  'chat.setOpen': z.object({ userId: zUserId, open: z.boolean() }).strict(),
  'connection.retry': z.object({ userId: zUserId }).strict(),
  status: z.object({}).strict(),
  'file.send': z.object({
    to: zUserId, path: z.string().min(1).max(4096),
    /** A preview the UI made of an image (base64 PNG/JPEG/GIF/WebP/BMP, at most 16 KiB); the host checks it. */
    thumb: z.string().min(4).max(MAX_FILE_THUMB_BASE64_CHARS).optional(),
  }).strict(),
  'file.accept': z.object({ id: zFileId }).strict(),
  'file.decline': z.object({ id: zFileId }).strict(),
  'file.cancel': z.object({ id: zFileId }).strict(),
  /** Desktop only: open a received, verified file, or show it in its folder. By id, never by path. */
  'file.open': z.object({ id: zFileId }).strict(),
  'file.show': z.object({ id: zFileId }).strict(),
  /** A received, verified image as a data URL, for its thumbnail where no download URL exists (Electron). By id, never by path. */
  'file.preview': z.object({ id: zFileId }).strict(),
  'files.list': z.object({ with: zUserId.optional(), limit: z.number().int().min(1).max(1000).optional() }).strict(),
  'network.status': z.object({}).strict(),
  /** The last discovery attempt's trace for this contact (network panel, `route` op). */
  'route.get': z.object({ userId: zUserId }).strict(),
  // The discovery chain runs in the mesh; these are its host-backed steps (DESIGN section 6).
  'route.lookup': z.object({ userId: zUserId, step: z.enum(HOST_STEPS), timeoutMs: z.number().int().min(0).max(10_000) }).strict(),
  'route.use': z.object({ userId: zUserId, route: zRouteHint }).strict(),
  'route.report': z.object({ session: zMeshSession, trace: zRouteTrace }).strict(),
  // The WebRTC mesh lives in the renderer (desktop, web mode); these two calls are its half of
  // the bridge to the host, which keeps signaling, signatures and storage (see MeshCommand).
  'mesh.attach': z.object({}).strict(),
  'mesh.report': z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('state'), session: zMeshSession, userId: zUserId, state: z.enum(CONNECTION_STATES), attempt: z.number().int().min(0).max(1000) }).strict(),
    z.object({ kind: z.literal('open'), session: zMeshSession, userId: zUserId }).strict(),
    z.object({ kind: z.literal('close'), session: zMeshSession, userId: zUserId }).strict(),
    z.object({ kind: z.literal('frame'), session: zMeshSession, userId: zUserId, frame: z.string().max(MAX_MESH_FRAME_CHARS) }).strict(),
    z.object({ kind: z.literal('signal'), session: zMeshSession, to: zUserId, signal: z.enum(['offer', 'answer', 'iceCandidate']), payload: z.unknown() }).strict(),
    z.object({ kind: z.literal('pair'), session: zMeshSession, userId: zUserId, pair: zCandidatePair }).strict(),
    // File channels (one per transfer) live in the renderer too; their bytes cross the bridge as
    // bytes, one chunk per report, bounded by the sender's watermarks and the receiver's credit.
    z.object({ kind: z.literal('file.opened'), session: zMeshSession, cid: zFileChannelId }).strict(),
    z.object({ kind: z.literal('file.incoming'), session: zMeshSession, cid: zFileChannelId, userId: zUserId, label: z.string().min(1).max(64) }).strict(),
    z.object({ kind: z.literal('file.data'), session: zMeshSession, cid: zFileChannelId, data: zBridgeBytes }).strict(),
    z.object({ kind: z.literal('file.room'), session: zMeshSession, cid: zFileChannelId, consumed: z.number().int().min(0).max(2 ** 53) }).strict(),
    z.object({ kind: z.literal('file.closed'), session: zMeshSession, cid: zFileChannelId }).strict(),
  ]),
} as const;

export type ApiCall = keyof typeof apiArgs;
export type ApiArgs<C extends ApiCall> = z.infer<(typeof apiArgs)[C]>;

export interface ApiResults {
  whoami: WhoAmI;
  'settings.get': Settings;
  'settings.update': Settings;
  'contacts.list': Contact[];
  'contacts.add': { ok: true };
  'contacts.respond': { ok: true };
  'contacts.block': { ok: true };
  'contacts.clearRequests': { cleared: number };
  'messages.list': ChatMessage[];
  'messages.send': { id: string };
  'chat.setOpen': { ok: true };
  'connection.retry': { ok: true };
  status: StatusSnapshot;
  'file.send': { ok: true; id: string };
  'file.accept': { ok: true };
  'file.decline': { ok: true };
  'file.cancel': { ok: true };
  'file.open': { ok: true };
  'file.show': { ok: true };
  'file.preview': { ok: true; url: string };
  'files.list': FileInfo[];
  'network.status': NetworkStatus;
  'route.get': { trace: RouteTrace | null };
  'route.lookup': HostLookup;
  'route.use': { ok: true };
  'route.report': { ok: true };
  /** iceServers: the user's own (settings); iceConfig: what RTCPeerConnection gets, those merged with the server's (GET /ice). */
  'mesh.attach': { session: string; selfId: string; iceServers: string[]; iceConfig: IceServerEntry[]; peers: string[]; discovery: { slack: number; graceMs: number } };
  'mesh.report': { ok: true };
}

/** Host → renderer mesh: what to do. Only the renderer that holds `session` acts on it. */
export type MeshCommand =
  | { session: string; op: 'connect' | 'retry' | 'disconnect' | 'routeFailed'; userId: string }
  | { session: string; op: 'send'; userId: string; frame: string }
  | { session: string; op: 'signal'; from: string; signal: 'offer' | 'answer' | 'iceCandidate'; payload: unknown }
  | { session: string; op: 'detach' }
  | { session: string; op: 'ice'; iceConfig: IceServerEntry[] }
  | { session: string; op: 'file.open'; userId: string; label: string; cid: string }
  | { session: string; op: 'file.data'; cid: string; data: Uint8Array }
  | { session: string; op: 'file.close'; cid: string };

/** Host → UI events. */
export interface ApiEvents {
  contactRequest: { userId: string; name: string };
  contactAccepted: { userId: string; name: string };
  contactsChanged: Record<string, never>;
  message: ChatMessage;
  status: { id: string; status: MessageStatus };
  connection: PeerInfo;
  presence: { userId: string; presence: Presence };
  signaling: { state: SignalingState; attempt: number };
  error: { code: string; message: string };
  file: FileInfo;
  /** A contact's discovery attempt changed (network panel). */
  route: RouteTrace;
  /** Signal servers attached or their state changed (network panel). */
  network: NetworkStatus;
  'mesh.command': MeshCommand;
}
export type ApiEventName = keyof ApiEvents;
export const API_EVENT_NAMES: readonly ApiEventName[] = [
  'contactRequest', 'contactAccepted', 'contactsChanged', 'message', 'status', 'connection', 'presence', 'signaling', 'error',
  'file', 'route', 'network', 'mesh.command',
];

/** What every implementation of the contract looks like from the UI's side. */
export interface ParleyApi {
  call<C extends ApiCall>(call: C, args: ApiArgs<C>): Promise<ApiResults[C]>;
  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
}

export type ParsedApiCall =
  | { ok: true; call: ApiCall; args: ApiArgs<ApiCall> }
  | { ok: false; code: 'UNKNOWN_CALL' | 'BAD_ARGS'; message: string };

/**
 * Validates a call name and arguments from an untrusted caller. Total: whatever the caller sends
 * (objects with their own toString, cycles, BigInt through IPC), this returns and never throws.
 */
export function parseApiCall(call: unknown, args: unknown): ParsedApiCall {
  if (typeof call !== 'string' || !Object.prototype.hasOwnProperty.call(apiArgs, call)) {
    return { ok: false, code: 'UNKNOWN_CALL', message: `unknown call ${describeUntrusted(call)}; known calls: ${Object.keys(apiArgs).join(', ')}` };
  }
  const schema = apiArgs[call as ApiCall];
  try {
    const parsed = schema.safeParse(args ?? {});
    if (!parsed.success) {
      return { ok: false, code: 'BAD_ARGS', message: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || 'args'}: ${i.message}`).join('; ').slice(0, 500) };
    }
    return { ok: true, call: call as ApiCall, args: parsed.data as ApiArgs<ApiCall> };
  } catch {
    return { ok: false, code: 'BAD_ARGS', message: 'args could not be read; send a plain JSON object' };
  }
}

/** A short label for a value from outside, computed without calling anything on it. */
export function describeUntrusted(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 60));
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' || typeof value === 'boolean') return `${value}`;
  return `a value of type ${typeof value}`;
}
