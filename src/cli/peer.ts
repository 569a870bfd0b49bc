/**
 * `parley peer --json`: host services and the WebRTC mesh in one Node process (@roamhq/wrtc),
 * driven by the control protocol on stdin/stdout.
 */
import { createInterface } from 'node:readline';
import type { ApiEventName } from '../shared/api';
import { startHost, type HostApi } from '../main/host/host';
import { nodeMeshFactory } from '../main/host/node-mesh';
import { parseControlLine, type ControlOp } from './control-protocol';

export interface PeerCliOptions {
  profile: string;
  name?: string;
  broker?: string;
  ice?: string[];
  heartbeatMs?: number;
  offlineAfterMs?: number;
}

const FORWARDED_EVENTS: ApiEventName[] = ['contactRequest', 'contactAccepted', 'message', 'status', 'connection', 'presence', 'signaling', 'error'];

type Out = Record<string, unknown>;

function write(obj: Out): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

export async function runPeer(opts: PeerCliOptions): Promise<void> {
  // If whoever drives us goes away, there is nobody left to tell: stop quietly.
  process.stdout.on('error', () => process.exit(0));
  let host: HostApi;
  try {
    host = await startHost({
      profileDir: opts.profile,
      name: opts.name,
      brokerUrl: opts.broker,
      iceServers: opts.ice,
      meshFactory: nodeMeshFactory,
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
    process.stdout.write('', () => process.exit(code));
  };

  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  // Each line starts as soon as it arrives, in order (so a burst of sends is saved in one group
  // commit), while replies are written in request order.
  let chain = Promise.resolve();
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    const reply = startLine(host, line);
    chain = chain.then(async () => {
      const r = await reply;
      if (r instanceof QuitRequest) await quit(0, r.reqId);
      else write(r);
    });
  });
  rl.on('close', () => void chain.then(() => quit(0)));
  process.on('SIGTERM', () => void quit(0));
  process.on('SIGINT', () => void quit(0));
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
    case 'contacts':
      return { contacts: (await host.handle('contacts.list', {})).map(({ userId, name, state, presence }) => ({ userId, name, state, presence })) };
    case 'send':
      return { ...(await host.handle('messages.send', { to: op.to, text: op.text })) };
    case 'file.send':
      throw Object.assign(new Error('file transfer is not available in this version yet; send text with {"op":"send"}'), { code: 'NOT_IMPLEMENTED' });
    case 'messages':
      return { messages: await host.handle('messages.list', { with: op.with, ...(op.limit ? { limit: op.limit } : {}) }) };
    case 'peers':
      return { peers: (await host.handle('status', {})).peers.map(({ userId, state, path }) => ({ userId, state, path })) };
    case 'chat.open':
      await host.handle('chat.setOpen', { userId: op.userId, open: op.open });
      return {};
    case 'retry':
      await host.handle('connection.retry', { userId: op.userId });
      return {};
    case 'stats':
      return { rejected: host.rejectStats() };
  }
}
