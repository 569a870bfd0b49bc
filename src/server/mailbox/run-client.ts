// `parley mailbox client --json`: one JSON request per stdin line, one JSON reply per stdout line.
// Requests run one after another in input order (a script's read sees its earlier append); each
// reply echoes the request's `reqId` (for `append` it is also the de-duplication id reused on
// every retry).
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { MailboxClient, MailboxError } from './client';
import type { MailboxTlsClientOptions } from './wire-socket';

const line = z.discriminatedUnion('op', [
  z.object({ op: z.literal('cluster'), reqId: z.string().optional() }),
  z.object({ op: z.literal('create'), queue: z.string().min(1), reqId: z.string().optional() }),
  z.object({ op: z.literal('append'), queue: z.string().min(1), data: z.string(), reqId: z.string().min(1).max(128).optional(), clientId: z.string().min(1).max(128).optional() }),
  z.object({ op: z.literal('read'), queue: z.string().min(1), clientId: z.string().min(1), reqId: z.string().optional() }),
  z.object({ op: z.literal('ack'), queue: z.string().min(1), clientId: z.string().min(1), seq: z.number().int().nonnegative(), reqId: z.string().optional() }),
  z.object({ op: z.literal('stats'), addr: z.string(), reqId: z.string().optional() }),
  z.object({ op: z.literal('leave'), nodeId: z.string().min(1).max(64), reqId: z.string().optional() }),
  z.object({ op: z.literal('quit'), reqId: z.string().optional() }),
]);
type Line = z.infer<typeof line>;

function write(obj: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

async function execute(client: MailboxClient, req: Line): Promise<Record<string, unknown>> {
  switch (req.op) {
    case 'cluster':
      return { ok: true, ...(await client.cluster()) };
    case 'create':
      await client.create(req.queue);
      return { ok: true };
    case 'append': {
      const r = await client.append(req.queue, req.data, req.reqId, { clientId: req.clientId });
      return { ok: true, seq: r.seq, reqId: r.reqId };
    }
    case 'read':
      return { ok: true, ...(await client.read(req.queue, req.clientId)) };
    case 'ack':
      await client.ack(req.queue, req.clientId, req.seq);
      return { ok: true };
    case 'stats':
      return { ok: true, ...(await client.stats(req.addr)) };
    case 'leave':
      await client.removeNode(req.nodeId);
      return { ok: true };
    case 'quit':
      return { ok: true };
  }
}

export async function runMailboxClient(opts: { seeds: string[]; clusterId?: string; timeoutMs: number; clientId?: string; clusterKey?: Buffer; tls?: MailboxTlsClientOptions }): Promise<void> {
  const client = new MailboxClient({ seeds: opts.seeds, clusterId: opts.clusterId, timeoutMs: opts.timeoutMs, clientId: opts.clientId, clusterKey: opts.clusterKey, tls: opts.tls });
  write({ event: 'ready', seeds: opts.seeds });
  let chain: Promise<void> = Promise.resolve();
  const rl = createInterface({ input: process.stdin });
  let quitting = false;
  const finish = async (): Promise<void> => {
    await chain;
    client.close();
    process.exit(0);
  };
  rl.on('line', (text) => {
    if (quitting || text.trim() === '') return;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      chain = chain.then(() => write({ ok: false, error: { code: 'BAD_JSON', message } }));
      return;
    }
    const parsed = line.safeParse(raw);
    if (!parsed.success) {
      const reqId = (raw as { reqId?: unknown } | null)?.reqId;
      const message = parsed.error.issues[0]?.message ?? 'invalid request';
      chain = chain.then(() => write({ ok: false, ...(typeof reqId === 'string' ? { reqId } : {}), error: { code: 'SCHEMA', message } }));
      return;
    }
    const req = parsed.data;
    const echo = req.reqId === undefined ? {} : { reqId: req.reqId };
    if (req.op === 'quit') {
      quitting = true;
      chain = chain.then(() => write({ ok: true, ...echo }));
      void finish();
      return;
    }
    chain = chain.then(() =>
      execute(client, req)
        .then((reply) => write({ ...reply, ...echo }))
        .catch((err: unknown) => {
          const code = err instanceof MailboxError ? err.code : 'INTERNAL';
          const outcomeUnknown = err instanceof MailboxError && err.outcomeUnknown;
          write({ ok: false, ...echo, error: { code, message: err instanceof Error ? err.message : String(err), outcomeUnknown } });
        }),
    );
  });
  rl.on('close', () => void finish());
}
