// Wire contract of the mailbox cluster (DESIGN section 9, seed 001): client operations, their
// replies, and the broker-to-broker frames. Every frame is a length-prefixed JSON object carrying
// `clusterId`; everything arriving from a socket is validated here before it is used.
import { z } from 'zod';

export const MAX_QUEUE_NAME_CHARS = 128;
/** Same rule as the replicated queue state: letters, digits and . _ : @ - */
export const QUEUE_NAME_RE = /^[A-Za-z0-9._:@-]{1,128}$/;
export const MAX_CLIENT_ID_CHARS = 128;
export const MAX_REQ_ID_CHARS = 128;
export const MAX_NODE_ID_CHARS = 64;
export const MAX_CLUSTER_ID_CHARS = 128;
/** Payload cap for one APPEND (the sealed envelope, usually base64). */
export const MAX_DATA_CHARS = 64 * 1024;
/** Frame cap on client connections: one APPEND plus framing. */
export const MAX_CLIENT_FRAME_BYTES = 128 * 1024;
/** Frame cap between brokers: batched REPLICATE and DATA_SYNC snapshots (sent whole) are bigger. */
export const MAX_PEER_FRAME_BYTES = 256 * 1024 * 1024;

export const MAILBOX_ERROR_CODES = [
  'BAD_JSON',
  'SCHEMA',
  'OVERSIZE',
  'UNKNOWN_OP',
  'WRONG_CLUSTER',
  'STALE_TERM',
  'NOT_MEMBER',
  'NOT_LEADER',
  'NO_QUEUE',
  'QUEUE_EXISTS',
  'ACK_GAP',
  'TIMEOUT',
  'UNAVAILABLE',
  'SHUTTING_DOWN',
  'INTERNAL',
  /** inbox:{u}: missing, stale or wrong signature, or READ/ACK by someone other than u */
  'UNAUTHORIZED',
  /** inbox deposits over the depositor's rate */
  'RATE_LIMITED',
  /** the queue's message or byte cap (or the mailbox's queue cap) is reached */
  'QUEUE_FULL',
  /** no (valid) proof of the cluster key: membership ops from clients, broker-link handshakes */
  'UNAUTHENTICATED',
  /** this node has no cluster key, so it accepts no membership change and no broker link */
  'FORBIDDEN',
  /** too many requests in flight on one connection: wait for replies before sending more */
  'OVERLOADED',
] as const;
export type MailboxErrorCode = (typeof MAILBOX_ERROR_CODES)[number];

const nodeId = z.string().min(1).max(MAX_NODE_ID_CHARS).regex(/^[A-Za-z0-9._:-]+$/);
const clusterId = z.string().min(1).max(MAX_CLUSTER_ID_CHARS);
const queueName = z.string().regex(QUEUE_NAME_RE, 'queue name: 1-128 of [A-Za-z0-9._:@-]');
const clientId = z.string().min(1).max(MAX_CLIENT_ID_CHARS);
const reqId = z.string().min(1).max(MAX_REQ_ID_CHARS);
const hostPort = z.string().min(3).max(300).regex(/^[^\s:]+:\d{1,5}$/);
const seq = z.number().int().nonnegative();
/** Correlates a reply with its request on a pipelined connection. */
const corr = z.number().int().nonnegative();

// ---------- client operations ----------

const clientBase = { corr, clusterId: clusterId.optional() };
/** Signature of an inbox operation (src/shared/mailbox-auth.ts); required on inbox:{userId} queues. */
const auth = z
  .object({ by: z.string().regex(/^[0-9a-f]{64}$/), ts: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), sig: z.string().max(100) })
  .strict()
  .optional();

export const ClusterQuerySchema = z.object({ op: z.literal('CLUSTER_QUERY'), ...clientBase }).strict();
export const CreateQueueSchema = z.object({ op: z.literal('CREATE_QUEUE'), ...clientBase, queue: queueName, reqId: reqId.optional() }).strict();
export const AppendSchema = z
  .object({
    op: z.literal('APPEND'),
    ...clientBase,
    queue: queueName,
    data: z.string().max(MAX_DATA_CHARS),
    reqId,
    /** scope of reqId de-duplication: one writer; retries must reuse both */
    clientId: clientId.optional(),
    auth,
  })
  .strict();
export const ReadSchema = z.object({ op: z.literal('READ'), ...clientBase, queue: queueName, clientId, auth }).strict();
export const AckSchema = z.object({ op: z.literal('ACK'), ...clientBase, queue: queueName, clientId, seq, reqId: reqId.optional(), auth }).strict();
export const StatsSchema = z.object({ op: z.literal('STATS'), ...clientBase }).strict();
const hex = (chars: number): z.ZodString => z.string().length(chars).regex(/^[0-9a-f]+$/);
/** Proof of the cluster key for a membership operation (src/server/mailbox/cluster-key.ts). */
export const AdminProofSchema = z.object({ ts: z.number().int().nonnegative(), nonce: hex(32), mac: hex(64) }).strict();
/** A node asks the leader to add it (as a learner first). Needs proof of the cluster key. */
export const JoinClusterSchema = z
  .object({ op: z.literal('JOIN_CLUSTER'), ...clientBase, nodeId, addr: hostPort, auth: AdminProofSchema.optional() })
  .strict();
/** Operator asks the leader to remove a node (leave). Needs proof of the cluster key. */
export const LeaveClusterSchema = z.object({ op: z.literal('LEAVE_CLUSTER'), ...clientBase, nodeId, auth: AdminProofSchema.optional() }).strict();

export const ClientRequestSchema = z.discriminatedUnion('op', [
  ClusterQuerySchema,
  CreateQueueSchema,
  AppendSchema,
  ReadSchema,
  AckSchema,
  StatsSchema,
  JoinClusterSchema,
  LeaveClusterSchema,
]);
export type ClientRequest = z.infer<typeof ClientRequestSchema>;
export type ClientOp = ClientRequest['op'];
export const CLIENT_OPS: readonly ClientOp[] = [
  'CLUSTER_QUERY',
  'CREATE_QUEUE',
  'APPEND',
  'READ',
  'ACK',
  'STATS',
  'JOIN_CLUSTER',
  'LEAVE_CLUSTER',
];

export const MemberSchema = z.object({ id: nodeId, addr: hostPort.nullable(), role: z.enum(['voter', 'learner']) }).strict();
export type Member = z.infer<typeof MemberSchema>;

export const LeaderHintSchema = z.object({ id: nodeId, addr: hostPort.nullable() }).strict();

export const ErrorReplySchema = z
  .object({
    op: z.literal('REPLY'),
    corr: corr.nullable(),
    ok: z.literal(false),
    code: z.enum(MAILBOX_ERROR_CODES),
    reason: z.string().max(1000),
    leader: LeaderHintSchema.nullable().optional(),
    clusterId: clusterId.optional(),
  })
  .strict();

const okBase = { op: z.literal('REPLY'), corr, ok: z.literal(true), clusterId };

export const ClusterReplySchema = z
  .object({
    ...okBase,
    nodeId,
    term: z.number().int().nonnegative(),
    leader: LeaderHintSchema.nullable(),
    members: z.array(MemberSchema).max(100),
  })
  .strict();
export const SeqReplySchema = z.object({ ...okBase, seq }).strict();
export const ReadReplySchema = z.union([
  z.object({ ...okBase, seq, data: z.string().max(MAX_DATA_CHARS) }).strict(),
  z.object({ ...okBase, empty: z.literal(true) }).strict(),
]);
export const EmptyOkReplySchema = z.object({ ...okBase }).strict();
export const StatsReplySchema = z
  .object({
    ...okBase,
    nodeId,
    rejects: z.record(z.string(), z.number().int().nonnegative()),
    role: z.string(),
    term: z.number().int(),
    /** group commit: SQLite transactions written and log entries they carried */
    storage: z.object({ transactions: z.number().int(), entries: z.number().int() }).strict(),
  })
  .strict();
export const JoinReplySchema = z.object({ ...okBase, members: z.array(MemberSchema).max(100) }).strict();

/** Any reply, loosely: the client checks the specific shape per operation. */
export const AnyReplySchema = z.union([
  ErrorReplySchema,
  z.object({ op: z.literal('REPLY'), corr, ok: z.literal(true), clusterId }).passthrough(),
]);
export type ErrorReply = z.infer<typeof ErrorReplySchema>;

// ---------- broker-to-broker frames ----------
// A peer connection starts with PEER_HELLO; every later frame is one Raft message under the seed's
// names (DESIGN section 9) plus `clusterId`, or a CLUSTER_UPDATE (member addresses), or a REPLY
// carrying a rejection. The shapes mirror src/server/mailbox/core/types.ts (checked there at
// compile time by the node's codec).

const term = z.number().int().nonnegative();
const index = z.number().int().nonnegative();
const peerBase = { clusterId, from: nodeId, to: nodeId, term };

// The handshake (src/server/mailbox/peer-auth.ts): HELLO from the dialer, CHALLENGE from the
// acceptor, AUTH from the dialer; only then is either side a peer.
export const PeerHelloSchema = z
  .object({ type: z.literal('PEER_HELLO'), clusterId, from: nodeId, to: nodeId, addr: hostPort.nullable(), nonce: hex(32) })
  .strict();
export const PeerChallengeSchema = z.object({ type: z.literal('PEER_CHALLENGE'), clusterId, from: nodeId, to: nodeId, nonce: hex(32), mac: hex(64) }).strict();
export const PeerAuthSchema = z.object({ type: z.literal('PEER_AUTH'), mac: hex(64) }).strict();
export const HANDSHAKE_TYPES = ['PEER_HELLO', 'PEER_CHALLENGE', 'PEER_AUTH'] as const;

export const EntrySchema = z
  .object({ term, index, type: z.enum(['noop', 'command', 'config']), data: z.string().max(MAX_PEER_FRAME_BYTES) })
  .strict();
export const SnapshotSchema = z
  .object({ index, term, voters: z.array(nodeId).max(100), learners: z.array(nodeId).max(100), data: z.string().max(MAX_PEER_FRAME_BYTES) })
  .strict();

export const ElectionRequestFrame = z
  .object({ type: z.literal('ELECTION_REQUEST'), ...peerBase, preVote: z.boolean(), lastLogIndex: index, lastLogTerm: term, transfer: z.boolean() })
  .strict();
export const ElectionResponseFrame = z.object({ type: z.literal('ELECTION_RESPONSE'), ...peerBase, preVote: z.boolean(), granted: z.boolean() }).strict();
export const ReplicateFrame = z
  .object({ type: z.literal('REPLICATE'), ...peerBase, prevLogIndex: index, prevLogTerm: term, entries: z.array(EntrySchema).max(100_000), commit: index })
  .strict();
export const ReplicateResponseFrame = z
  .object({ type: z.literal('REPLICATE_RESPONSE'), ...peerBase, success: z.boolean(), index, hintIndex: index, hintTerm: term })
  .strict();
export const HeartbeatFrame = z.object({ type: z.literal('HEARTBEAT'), ...peerBase, commit: index, ctx: z.string().max(200) }).strict();
export const HeartbeatResponseFrame = z.object({ type: z.literal('HEARTBEAT_RESPONSE'), ...peerBase, ctx: z.string().max(200) }).strict();
export const DataSyncRequestFrame = z.object({ type: z.literal('DATA_SYNC_REQUEST'), ...peerBase, snapshot: SnapshotSchema }).strict();
export const DataSyncResponseFrame = z.object({ type: z.literal('DATA_SYNC_RESPONSE'), ...peerBase, index }).strict();
export const PromoteToLeaderFrame = z.object({ type: z.literal('PROMOTE_TO_LEADER'), ...peerBase }).strict();
/** Leader → all: member addresses, so nodes can dial peers added by configuration changes. */
export const ClusterUpdateFrame = z.object({ type: z.literal('CLUSTER_UPDATE'), ...peerBase, members: z.array(MemberSchema).max(100) }).strict();
/** A rejection sent back on a peer connection (counted by the receiver, never acted on). */
export const PeerRejectFrame = z
  .object({ type: z.literal('REJECT'), clusterId: clusterId.optional(), code: z.enum(MAILBOX_ERROR_CODES), reason: z.string().max(1000), term: term.optional() })
  .strict();

export const PeerFrameSchema = z.discriminatedUnion('type', [
  ElectionRequestFrame,
  ElectionResponseFrame,
  ReplicateFrame,
  ReplicateResponseFrame,
  HeartbeatFrame,
  HeartbeatResponseFrame,
  DataSyncRequestFrame,
  DataSyncResponseFrame,
  PromoteToLeaderFrame,
  ClusterUpdateFrame,
  PeerRejectFrame,
]);
export type PeerFrame = z.infer<typeof PeerFrameSchema>;
export type PeerFrameType = PeerFrame['type'];
export const PEER_FRAME_TYPES: readonly PeerFrameType[] = [
  'ELECTION_REQUEST',
  'ELECTION_RESPONSE',
  'REPLICATE',
  'REPLICATE_RESPONSE',
  'HEARTBEAT',
  'HEARTBEAT_RESPONSE',
  'DATA_SYNC_REQUEST',
  'DATA_SYNC_RESPONSE',
  'PROMOTE_TO_LEADER',
  'CLUSTER_UPDATE',
  'REJECT',
];


// ---------- fast paths ----------
// The frames of every append (APPEND, REPLICATE and its answer, HEARTBEAT, the client's REPLY) are
// checked by hand first: a frame these predicates accept is one the schema accepts unchanged
// (same keys, same values). Anything else, including everything they are unsure of (an `auth`, a
// string long enough that zod would count its code points), goes through the schema as before,
// so refusals and their reasons stay the schema's. Parity: test/unit/mailbox/schema-fast.test.ts.

type Obj = Record<string, unknown>;
const NODE_ID_RE = /^[A-Za-z0-9._:-]+$/;

/** a plain object, as JSON.parse makes them (nothing inherited that a copy would drop) */
function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype && !Object.hasOwn(v, '__proto__');
}
function onlyKeys(o: Obj, allowed: ReadonlySet<string>): boolean {
  for (const k in o) if (!allowed.has(k)) return false;
  return true;
}
const isNat = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
/** min 1, max `max` UTF-16 units (a string within `max` units is within `max` code points) */
const isStr = (v: unknown, max: number): boolean => typeof v === 'string' && v.length >= 1 && v.length <= max;
const isNodeId = (v: unknown): boolean => isStr(v, MAX_NODE_ID_CHARS) && NODE_ID_RE.test(v as string);
const isPeerBase = (o: Obj): boolean => isStr(o.clusterId, MAX_CLUSTER_ID_CHARS) && isNodeId(o.from) && isNodeId(o.to) && isNat(o.term);

const REPLICATE_KEYS = new Set(['type', 'clusterId', 'from', 'to', 'term', 'prevLogIndex', 'prevLogTerm', 'entries', 'commit']);
const ENTRY_KEYS = new Set(['term', 'index', 'type', 'data']);
const ENTRY_TYPES = new Set(['noop', 'command', 'config']);
const RESPONSE_KEYS = new Set(['type', 'clusterId', 'from', 'to', 'term', 'success', 'index', 'hintIndex', 'hintTerm']);
const HEARTBEAT_KEYS = new Set(['type', 'clusterId', 'from', 'to', 'term', 'commit', 'ctx']);
const HEARTBEAT_RESPONSE_KEYS = new Set(['type', 'clusterId', 'from', 'to', 'term', 'ctx']);
const APPEND_KEYS = new Set(['op', 'corr', 'clusterId', 'queue', 'data', 'reqId', 'clientId']);

function isEntry(e: unknown): boolean {
  return (
    isObj(e) &&
    onlyKeys(e, ENTRY_KEYS) &&
    isNat(e.term) &&
    isNat(e.index) &&
    typeof e.type === 'string' &&
    ENTRY_TYPES.has(e.type) &&
    typeof e.data === 'string' &&
    e.data.length <= MAX_PEER_FRAME_BYTES
  );
}

/** The hot broker frames, when plainly well-formed; null means "ask the schema". */
export function fastPeerFrame(raw: Obj): PeerFrame | null {
  if (!isObj(raw)) return null;
  switch (raw.type) {
    case 'REPLICATE': {
      const entries = raw.entries;
      if (!onlyKeys(raw, REPLICATE_KEYS) || !isPeerBase(raw) || !isNat(raw.prevLogIndex) || !isNat(raw.prevLogTerm) || !isNat(raw.commit)) return null;
      if (!Array.isArray(entries) || entries.length > 100_000) return null;
      for (const e of entries) if (!isEntry(e)) return null;
      return raw as PeerFrame;
    }
    case 'REPLICATE_RESPONSE':
      return onlyKeys(raw, RESPONSE_KEYS) && isPeerBase(raw) && typeof raw.success === 'boolean' && isNat(raw.index) && isNat(raw.hintIndex) && isNat(raw.hintTerm)
        ? (raw as PeerFrame)
        : null;
    case 'HEARTBEAT':
      return onlyKeys(raw, HEARTBEAT_KEYS) && isPeerBase(raw) && isNat(raw.commit) && typeof raw.ctx === 'string' && raw.ctx.length <= 200 ? (raw as PeerFrame) : null;
    case 'HEARTBEAT_RESPONSE':
      return onlyKeys(raw, HEARTBEAT_RESPONSE_KEYS) && isPeerBase(raw) && typeof raw.ctx === 'string' && raw.ctx.length <= 200 ? (raw as PeerFrame) : null;
    default:
      return null;
  }
}

/** An APPEND without `auth` (generic queues), when plainly well-formed; null means "ask the schema". */
export function fastAppend(raw: Obj): ClientRequest | null {
  if (!isObj(raw) || raw.op !== 'APPEND' || !onlyKeys(raw, APPEND_KEYS)) return null;
  if (!isNat(raw.corr) || (raw.clusterId !== undefined && !isStr(raw.clusterId, MAX_CLUSTER_ID_CHARS))) return null;
  if (typeof raw.queue !== 'string' || !QUEUE_NAME_RE.test(raw.queue)) return null;
  if (typeof raw.data !== 'string' || raw.data.length > MAX_DATA_CHARS) return null;
  if (!isStr(raw.reqId, MAX_REQ_ID_CHARS) || (raw.clientId !== undefined && !isStr(raw.clientId, MAX_CLIENT_ID_CHARS))) return null;
  return raw as ClientRequest;
}

/** A successful reply (AnyReplySchema's passthrough arm), when plainly well-formed. */
export function fastOkReply(raw: unknown): z.infer<typeof AnyReplySchema> | null {
  if (!isObj(raw) || raw.op !== 'REPLY' || raw.ok !== true || !isNat(raw.corr) || !isStr(raw.clusterId, MAX_CLUSTER_ID_CHARS)) return null;
  return raw as z.infer<typeof AnyReplySchema>;
}

export type MailboxParse<T> = { ok: true; value: T } | { ok: false; code: MailboxErrorCode; reason: string };

function describe(err: z.ZodError): string {
  return err.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

/** Validates one decoded client frame. Unknown ops are told apart from malformed known ones. */
export function parseClientRequest(raw: unknown): MailboxParse<ClientRequest> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, code: 'SCHEMA', reason: 'frame is not a JSON object' };
  const op = (raw as { op?: unknown }).op;
  if (typeof op !== 'string') return { ok: false, code: 'SCHEMA', reason: 'missing op' };
  if (!(CLIENT_OPS as readonly string[]).includes(op)) return { ok: false, code: 'UNKNOWN_OP', reason: `unknown op ${op.slice(0, 40)}` };
  const fast = fastAppend(raw as Obj);
  if (fast) return { ok: true, value: fast };
  const r = ClientRequestSchema.safeParse(raw);
  if (r.success) return { ok: true, value: r.data };
  const oversize = r.error.issues.some((i) => i.code === 'too_big' && i.path[0] === 'data');
  return { ok: false, code: oversize ? 'OVERSIZE' : 'SCHEMA', reason: describe(r.error) };
}

function parseWith<T>(schema: z.ZodType<T>, raw: unknown): MailboxParse<T> {
  const r = schema.safeParse(raw);
  return r.success ? { ok: true, value: r.data } : { ok: false, code: 'SCHEMA', reason: describe(r.error) };
}

export type PeerHello = z.infer<typeof PeerHelloSchema>;
export const parsePeerHello = (raw: unknown): MailboxParse<PeerHello> => parseWith(PeerHelloSchema, raw);
export const parsePeerChallenge = (raw: unknown): MailboxParse<z.infer<typeof PeerChallengeSchema>> => parseWith(PeerChallengeSchema, raw);
export const parsePeerAuth = (raw: unknown): MailboxParse<z.infer<typeof PeerAuthSchema>> => parseWith(PeerAuthSchema, raw);

/** A frame that only a broker sends (handshake or Raft): refused on a connection that is no proven peer. */
export function looksLikePeerFrame(raw: unknown): boolean {
  if (typeof raw !== 'object' || raw === null) return false;
  const type = (raw as { type?: unknown }).type;
  return typeof type === 'string' && ((PEER_FRAME_TYPES as readonly string[]).includes(type) || (HANDSHAKE_TYPES as readonly string[]).includes(type));
}

export function parsePeerFrame(raw: unknown): MailboxParse<PeerFrame> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, code: 'SCHEMA', reason: 'frame is not a JSON object' };
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string') return { ok: false, code: 'SCHEMA', reason: 'missing type' };
  if (!(PEER_FRAME_TYPES as readonly string[]).includes(type)) return { ok: false, code: 'UNKNOWN_OP', reason: `unknown peer frame ${type.slice(0, 40)}` };
  const fast = fastPeerFrame(raw as Obj);
  if (fast) return { ok: true, value: fast };
  const r = PeerFrameSchema.safeParse(raw);
  return r.success ? { ok: true, value: r.data } : { ok: false, code: 'SCHEMA', reason: describe(r.error) };
}

export function parseReply(raw: unknown): MailboxParse<z.infer<typeof AnyReplySchema>> {
  const fast = fastOkReply(raw);
  if (fast) return { ok: true, value: fast };
  const r = AnyReplySchema.safeParse(raw);
  return r.success ? { ok: true, value: r.data } : { ok: false, code: 'SCHEMA', reason: describe(r.error) };
}
