/**
 * The one contract between the UI (renderer, untrusted) and the host services.
 * Electron (ipcMain + preload), web mode (token-guarded WebSocket) and the headless peer all
 * implement exactly this. Every call's arguments are validated with the schema below at the
 * host boundary; results and events are produced by trusted code and only typed.
 */
import { z } from 'zod';

export const USER_ID_RE = /^[0-9a-f]{64}$/;
export const zUserId = z.string().regex(USER_ID_RE, 'userId must be 64 lowercase hex characters');
const zName = z.string().trim().min(1).max(64);
const zMeshSession = z.string().regex(/^[0-9a-f]{32}$/, 'mesh session id is 32 hex characters');
/** A data-channel frame is at most 64 KiB; in UTF-16 code units never more than that. */
export const MAX_MESH_FRAME_CHARS = 64 * 1024;
const zText = z.string().min(1).max(16_000);

export const CONNECTION_STATES = [
  'DISCONNECTED', 'DISCOVERING', 'SIGNALING', 'CONNECTING', 'CONNECTED', 'RECONNECTING', 'FAILED', 'STORE_AND_FORWARD',
] as const;
export type ConnectionState = (typeof CONNECTION_STATES)[number];
export type DeliveryPath = 'direct' | 'relay' | 'coordinator' | 'mailbox' | 'none';
export type Presence = 'online' | 'chat-open' | 'offline';
export type MessageStatus = 'pending' | 'sent' | 'delivered' | 'read' | 'failed';
export type ContactState = 'outgoing' | 'incoming' | 'accepted' | 'declined';
export type SignalingState = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface WhoAmI { userId: string; deviceId: string; name: string }
export interface Contact { userId: string; name: string; state: ContactState; presence: Presence; lastSeen: number | null }
export interface ChatMessage { id: string; from: string; to: string; text: string; ts: number; status: MessageStatus }
export interface PeerInfo { userId: string; state: ConnectionState; path: DeliveryPath; attempt: number }
export interface Settings { displayName: string; brokerUrl: string; iceServers: string[] }
export interface StatusSnapshot { signaling: SignalingState; brokerUrl: string; peers: PeerInfo[] }

/** Call name → argument schema. Results are in ApiResults. */
export const apiArgs = {
  whoami: z.object({}).strict(),
  'settings.get': z.object({}).strict(),
  'settings.update': z.object({
    displayName: zName.optional(),
    brokerUrl: z.string().url().max(512).optional(),
    iceServers: z.array(z.string().max(512)).max(16).optional(),
  }).strict(),
  'contacts.list': z.object({}).strict(),
  'contacts.add': z.object({ userId: zUserId, name: zName.optional() }).strict(),
  'contacts.respond': z.object({ userId: zUserId, accept: z.boolean() }).strict(),
  'messages.list': z.object({ with: zUserId, limit: z.number().int().min(1).max(1000).optional() }).strict(),
  'messages.send': z.object({ to: zUserId, text: zText }).strict(),
  'chat.setOpen': z.object({ userId: zUserId, open: z.boolean() }).strict(),
  'connection.retry': z.object({ userId: zUserId }).strict(),
  status: z.object({}).strict(),
  // The WebRTC mesh lives in the renderer (desktop, web mode); these two calls are its half of
  // the bridge to the host, which keeps signaling, signatures and storage (see MeshCommand).
  'mesh.attach': z.object({}).strict(),
  'mesh.report': z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('state'), session: zMeshSession, userId: zUserId, state: z.enum(CONNECTION_STATES), attempt: z.number().int().min(0).max(1000) }).strict(),
    z.object({ kind: z.literal('open'), session: zMeshSession, userId: zUserId }).strict(),
    z.object({ kind: z.literal('close'), session: zMeshSession, userId: zUserId }).strict(),
    z.object({ kind: z.literal('frame'), session: zMeshSession, userId: zUserId, frame: z.string().max(MAX_MESH_FRAME_CHARS) }).strict(),
    z.object({ kind: z.literal('signal'), session: zMeshSession, to: zUserId, signal: z.enum(['offer', 'answer', 'iceCandidate']), payload: z.unknown() }).strict(),
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
  'messages.list': ChatMessage[];
  'messages.send': { id: string };
  'chat.setOpen': { ok: true };
  'connection.retry': { ok: true };
  status: StatusSnapshot;
  'mesh.attach': { session: string; selfId: string; iceServers: string[]; peers: string[] };
  'mesh.report': { ok: true };
}

/** Host → renderer mesh: what to do. Only the renderer that holds `session` acts on it. */
export type MeshCommand =
  | { session: string; op: 'connect' | 'retry' | 'disconnect'; userId: string }
  | { session: string; op: 'send'; userId: string; frame: string }
  | { session: string; op: 'signal'; from: string; signal: 'offer' | 'answer' | 'iceCandidate'; payload: unknown }
  | { session: string; op: 'detach' };

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
  'mesh.command': MeshCommand;
}
export type ApiEventName = keyof ApiEvents;
export const API_EVENT_NAMES: readonly ApiEventName[] = [
  'contactRequest', 'contactAccepted', 'contactsChanged', 'message', 'status', 'connection', 'presence', 'signaling', 'error',
  'mesh.command',
];

/** What every implementation of the contract looks like from the UI's side. */
export interface ParleyApi {
  call<C extends ApiCall>(call: C, args: ApiArgs<C>): Promise<ApiResults[C]>;
  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
}

/** Validates a call name and arguments from an untrusted caller. */
export function parseApiCall(call: unknown, args: unknown):
  | { ok: true; call: ApiCall; args: ApiArgs<ApiCall> }
  | { ok: false; code: 'UNKNOWN_CALL' | 'BAD_ARGS'; message: string } {
  if (typeof call !== 'string' || !Object.prototype.hasOwnProperty.call(apiArgs, call)) {
    return { ok: false, code: 'UNKNOWN_CALL', message: `unknown call ${JSON.stringify(String(call)).slice(0, 80)}` };
  }
  const schema = apiArgs[call as ApiCall];
  const parsed = schema.safeParse(args ?? {});
  if (!parsed.success) {
    return { ok: false, code: 'BAD_ARGS', message: parsed.error.issues.map((i) => `${i.path.join('.') || 'args'}: ${i.message}`).join('; ') };
  }
  return { ok: true, call: call as ApiCall, args: parsed.data as ApiArgs<ApiCall> };
}
