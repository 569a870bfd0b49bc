/**
 * `parley peer --json`: host services and the WebRTC mesh in one Node process (@roamhq/wrtc),
 * driven by the control protocol on stdin/stdout.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { importIdentity, keyFilePath } from '../main/host/keystore';
import type { ApiEventName } from '../shared/api';
import { startHost, type HostApi } from '../main/host/host';
import { nodeMeshFactory } from '../main/host/node-mesh';
import { registryClientFactory, wsClientFactory } from '../main/host/reach-clients';
import { LineSplitter } from './line-splitter';
import { MAX_CONTROL_LINE_BYTES, parseControlLine, type ControlOp } from './control-protocol';

export interface PeerCliOptions {
  profile: string;
  name?: string;
  broker?: string;
  signal?: string[];
  registry?: string;
  network?: string;
  ice?: string[];
  heartbeatMs?: number;
  offlineAfterMs?: number;
  mailbox?: string;
  mailboxPollMs?: number;
  importIdentity?: string;
  coordinator?: boolean;
  coordinatorHoldMs?: number;
  /** --relay: turn the "relay for my contacts" setting on. */
  relay?: boolean;
  /** --downloads DIR and --max-file-bytes N: the file settings for this run. */
  downloads?: string;
  maxFileBytes?: number;
}

const FORWARDED_EVENTS: ApiEventName[] = ['contactRequest', 'contactAccepted', 'message', 'status', 'connection', 'presence', 'signaling', 'error', 'file', 'route'];

type Out = Record<string, unknown>;

/**
 * Lines written during one task go out in one write at its end (a microtask): stdout is a pipe,
 * written synchronously, and a burst made four lines per message, each its own syscall, on the
 * same thread that signs and sends. Order is kept; nothing waits longer than the current task.
 */
let outLines: string[] = [];
function write(obj: Out): void {
  if (outLines.length === 0) queueMicrotask(flushOut);
  outLines.push(`${JSON.stringify(obj)}\n`);
}

function flushOut(): void {
  if (outLines.length === 0) return;
  const text = outLines.join('');
  outLines = [];
  process.stdout.write(text);
}

export async function runPeer(opts: PeerCliOptions): Promise<void> {
  // If whoever drives us goes away, there is nobody left to tell: stop quietly.
  process.stdout.on('error', () => process.exit(0));
  let host: HostApi;
  try {
    if (opts.importIdentity) importInto(opts.profile, opts.importIdentity);
    host = await startHost({
      profileDir: opts.profile,
      name: opts.name,
      brokerUrl: opts.broker,
      signalUrls: opts.signal,
      registryUrl: opts.registry,
      networkId: opts.network,
      iceServers: opts.ice,
      mailbox: opts.mailbox,
      mailboxPollMs: opts.mailboxPollMs,
      ...(opts.coordinator ? { coordinator: true } : {}),
      ...(opts.coordinatorHoldMs ? { coordinatorLimits: { maxHoldMs: opts.coordinatorHoldMs } } : {}),
      ...(opts.relay ? { allowRelay: true } : {}),
      fileSettings: { ...(opts.downloads ? { downloadsDir: resolve(opts.downloads) } : {}), ...(opts.maxFileBytes !== undefined ? { maxFileBytes: opts.maxFileBytes } : {}) },
      meshFactory: nodeMeshFactory,
      wsClientFactory,
      registryClientFactory,
      presence: { heartbeatMs: opts.heartbeatMs, offlineAfterMs: opts.offlineAfterMs },
    });
  } catch (err) {
    write({ event: 'error', code: (err as { code?: string }).code ?? 'START_FAILED', message: (err as Error).message });
    process.exitCode = 1;
    return;
  }
  for (const name of FORWARDED_EVENTS) host.on(name, (payload) => write({ event: name, ...payload }));
  const me = await host.handle('whoami', {});
  write({ event: 'ready', ...me });

  let quitting = false;
  const quit = async (code: number, reqId?: string | number): Promise<void> => {
    if (quitting) return;
    quitting = true;
    await host.close();
    write({ ok: true, ...(reqId !== undefined ? { reqId } : {}) });
    flushOut();
    process.stdout.write('', () => process.exit(code));
  };

  // Each line starts as soon as it arrives, in order (so a burst of sends is saved in one group
  // commit), while replies are written in request order.
  let chain = Promise.resolve();
  const enqueue = (reply: Promise<Out | QuitRequest>): void => {
    chain = chain.then(async () => {
      const r = await reply;
      if (r instanceof QuitRequest) await quit(0, r.reqId);
      else write(r);
    }).catch((err: unknown) => {
      // One failed line must not stall every reply after it.
      write({ ok: false, error: { code: 'FAILED', message: err instanceof Error ? err.message : 'the line could not be handled' } });
    });
  };
  // The size limit is enforced while reading: a line without a newline is never buffered past it.
  const lines = new LineSplitter(MAX_CONTROL_LINE_BYTES, {
    line: (line) => {
      if (line.trim() !== '') enqueue(startLine(host, line));
    },
    oversize: (seen) => enqueue(Promise.resolve({
      ok: false,
      error: { code: 'OVERSIZE', message: `line is over ${MAX_CONTROL_LINE_BYTES} bytes (${seen} bytes so far without a newline); it is skipped up to its newline` },
    })),
  });
  // One chunk per event-loop turn. libuv reads a pipe up to 32 times per poll while data keeps
  // arriving, so a driver writing thousands of sends kept this loop on stdin for the whole burst:
  // no data-channel frame (the ACKs) was handled until every send had been read (issue 11).
  process.stdin.on('data', (chunk: Buffer) => {
    process.stdin.pause();
    lines.push(chunk);
    setImmediate(() => process.stdin.resume());
  });
  process.stdin.on('end', () => {
    lines.end();
    void chain.then(() => quit(0));
  });
  process.on('SIGTERM', () => void quit(0));
  process.on('SIGINT', () => void quit(0));
}

/** Another device of the same user: the profile takes the exported identity, with a device id of its own. */
function importInto(profile: string, file: string): void {
  if (existsSync(keyFilePath(profile))) {
    throw Object.assign(new Error(`${profile} already has an identity; --import-identity needs a new profile directory`), { code: 'PROFILE_HAS_IDENTITY' });
  }
  mkdirSync(profile, { recursive: true, mode: 0o700 });
  importIdentity(profile, readFileSync(file, 'utf8'));
}

class QuitRequest {
  constructor(readonly reqId?: string | number) {}
}

/** Parses and starts one line; resolves to the reply to write, or a request to quit. */
async function startLine(host: HostApi, line: string): Promise<Out | QuitRequest> {
  const parsed = parseControlLine(line);
  if (!parsed.ok) {
    return { ok: false, ...(parsed.reqId !== undefined ? { reqId: parsed.reqId } : {}), error: { code: parsed.code, message: parsed.message } };
  }
  const { op } = parsed;
  if (op.op === 'quit') return new QuitRequest(op.reqId);
  const tag = op.reqId !== undefined ? { reqId: op.reqId } : {};
  try {
    return { ok: true, ...tag, ...(await runOp(host, op)) };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { ok: false, ...tag, error: { code: e.code ?? 'FAILED', message: e.message ?? String(err) } };
  }
}

async function runOp(host: HostApi, op: Exclude<ControlOp, { op: 'quit' }>): Promise<Out> {
  switch (op.op) {
    case 'whoami':
      return { ...(await host.handle('whoami', {})) };
    case 'contact.add':
      await host.handle('contacts.add', { userId: op.userId, ...(op.name ? { name: op.name } : {}) });
      return {};
    case 'contact.accept':
    case 'contact.decline':
      await host.handle('contacts.respond', { userId: op.userId, accept: op.op === 'contact.accept' });
      return {};
    case 'contact.block':
      await host.handle('contacts.block', { userId: op.userId });
      return {};
    case 'contacts.clearRequests':
      return { ...(await host.handle('contacts.clearRequests', {})) };
    case 'contacts':
      return { contacts: (await host.handle('contacts.list', {})).map(({ userId, name, state, presence }) => ({ userId, name, state, presence })) };
    case 'send':
      return { ...(await host.handle('messages.send', { to: op.to, text: op.text })) };
    case 'file.send':
      return { id: (await host.handle('file.send', { to: op.to, path: op.path })).id };
    case 'file.accept':
    case 'file.decline':
    case 'file.cancel':
      await host.handle(op.op, { id: op.id });
      return {};
    case 'files':
      return { files: await host.handle('files.list', { ...(op.with ? { with: op.with } : {}) }) };
    case 'messages':
      return { messages: await host.handle('messages.list', { with: op.with, ...(op.limit ? { limit: op.limit } : {}) }) };
    case 'peers':
      return { peers: (await host.handle('status', {})).peers.map(({ userId, state, path, candidatePair }) => ({ userId, state, path, ...(candidatePair ? { candidatePair } : {}) })) };
    case 'route':
      return { ...(await host.handle('route.get', { userId: op.userId })) };
    case 'network':
      return { ...(await host.handle('network.status', {})) };
    case 'chat.open':
      await host.handle('chat.setOpen', { userId: op.userId, open: op.open });
      return {};
    case 'retry':
      await host.handle('connection.retry', { userId: op.userId });
      return {};
    case 'stats':
      return { rejected: host.rejectStats(), files: host.fileStats(), owedAcks: host.owedAckStats(), coordinator: host.coordinatorStats(), relay: host.relayStats(), mailbox: host.mailboxStats() };
  }
}
