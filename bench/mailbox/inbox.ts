// The mailbox as the offline inbox (issue 8): every append is a deposit in inbox:{recipient} the way
// the host's mailbox tier makes it (the signed CHAT_MESSAGE envelope sealed to the recipient, the
// depositor's signature over the APPEND), admitted by the inbox policy on the leader. The benchmark
// payload is the message text; the read-back opens each deposit as the recipient's device does.
import { randomBytes } from 'node:crypto';
import { nodeSigner } from '../../src/main/crypto/node-signer';
import { openDeposit, sealedDeposit } from '../../src/main/host/mailbox-tier';
import { RejectCounter } from '../../src/shared/errors';
import { generateIdentity, type Identity } from '../../src/shared/identity';
import { inboxQueue, signInboxOp } from '../../src/shared/mailbox-auth';
import { ParleyCluster, type ParleySync } from './parley';
import type { AppendClient, StoredMessage } from './types';

/**
 * The policy runs on every deposit (signature, rate bucket, stamping); its per-depositor rate
 * (50/s, burst 200) and per-inbox caps are raised so a 1-in-flight loop measures latency, not
 * the limiter's refusals.
 */
export const INBOX_BENCH_NODE_ARGS = [
  '--inbox-rate', '1000000', '--inbox-burst', '1000000', '--inbox-max-messages', '10000000', '--inbox-max-bytes', '4000000000',
];

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class ParleyInboxCluster extends ParleyCluster {
  readonly depositor: Identity = generateIdentity();
  /** One recipient per benchmark queue, so each cell writes a fresh inbox. */
  private readonly recipients = new Map<string, Identity>();
  readonly rejects = new RejectCounter();

  constructor(sync: ParleySync) {
    super({ profile: 'fast', sync, nodeArgs: INBOX_BENCH_NODE_ARGS, label: `Parley inbox ${sync}` });
  }

  private recipient(queue: string): Identity {
    let r = this.recipients.get(queue);
    if (!r) {
      r = generateIdentity();
      this.recipients.set(queue, r);
    }
    return r;
  }

  /** The first deposit creates inbox:{userId}, as in the product. */
  override async createQueue(queue: string): Promise<void> {
    this.recipient(queue);
  }

  override async connect(options: { operationTimeoutMs?: number } = {}): Promise<AppendClient> {
    const client = this.newClient(options.operationTimeoutMs);
    const depositor = this.depositor;
    return {
      append: async (queue: string, data: Uint8Array): Promise<number> => {
        const to = this.recipient(queue).userId;
        const msgId = randomBytes(16).toString('hex');
        const d = sealedDeposit(to, msgId, { text: decoder.decode(data) }, depositor, nodeSigner);
        const { seq } = await client.append(d.queue, d.data, msgId, { auth: d.auth });
        return seq;
      },
      close: async () => client.close(),
    };
  }

  /** Reads the inbox as its owner (signed READ/ACK, a fresh device position) and opens each deposit. */
  override async readAll(queue: string): Promise<StoredMessage[]> {
    const owner = this.recipient(queue);
    const name = inboxQueue(owner.userId);
    const reader = this.newClient();
    const clientId = `bench-verify-${randomBytes(4).toString('hex')}`;
    const out: StoredMessage[] = [];
    const deps = { identity: owner, signer: nodeSigner, rejects: this.rejects, isContact: (u: string) => u === this.depositor.userId };
    try {
      for (;;) {
        const entry = await reader.read(name, clientId, signInboxOp({ op: 'READ', queue: name, clientId }, owner, nodeSigner));
        if ('empty' in entry) break;
        const env = openDeposit(entry.data, deps);
        // An entry that does not open is kept as empty bytes, so the ledger reports it corrupted.
        out.push({ seq: entry.seq, data: env && env.type === 'CHAT_MESSAGE' && 'text' in env.body ? encoder.encode(env.body.text) : new Uint8Array() });
        await reader.ack(name, clientId, entry.seq, signInboxOp({ op: 'ACK', queue: name, clientId, seq: entry.seq }, owner, nodeSigner));
      }
    } finally {
      reader.close();
    }
    return out;
  }

  /** Bytes one deposit of `textBytes` of text puts on the wire and in the log (for the JetStream size). */
  depositSize(textBytes: number): number {
    const d = sealedDeposit(generateIdentity().userId, randomBytes(16).toString('hex'), { text: 'x'.repeat(textBytes) }, this.depositor, nodeSigner);
    return Buffer.byteLength(d.data) + Buffer.byteLength(JSON.stringify(d.auth));
  }
}
