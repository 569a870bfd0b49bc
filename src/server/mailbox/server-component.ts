/** `parley server --mailbox PORT`: a one-node mailbox cluster beside the embedded broker. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerComponent } from '../server';
import type { ServerMetrics } from '../ops/metrics';
import { MailboxNode } from './node';

const ROLES = ['leader', 'follower', 'candidate', 'precandidate', 'learner'] as const;

export const mailboxComponent: ServerComponent = {
  name: 'mailbox',
  async start({ port, host, dataDir, metrics, tls }) {
    const dir = dataDir ? join(dataDir, 'mailbox') : mkdtempSync(join(tmpdir(), 'parley-mailbox-'));
    // With --tls-cert/--tls-key the mailbox speaks TLS like every other server of `parley server`.
    const node = new MailboxNode({ id: 'm1', host, port, dataDir: dir, peers: [], ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}) });
    const started = await node.start();
    registerMailboxMetrics(node, metrics);
    return { url: started.addr, close: () => node.stop() };
  },
};

export function registerMailboxMetrics(node: MailboxNode, metrics: ServerMetrics): void {
  metrics.gauge({
    name: 'parley_mailbox_role',
    help: 'Raft role of this mailbox node (1 for the current role)',
    labelNames: ['role'],
    collect() {
      const { role } = node.status();
      for (const r of ROLES) this.set({ role: r }, r === role ? 1 : 0);
    },
  });
  metrics.gauge({
    name: 'parley_mailbox_term',
    help: 'Raft term of this mailbox node',
    collect() {
      this.set(node.status().term);
    },
  });
  metrics.gauge({
    name: 'parley_mailbox_commit_index',
    help: 'Raft commit index of this mailbox node',
    collect() {
      this.set(node.status().commit);
    },
  });
  metrics.gauge({
    name: 'parley_mailbox_rejects',
    help: 'Frames the mailbox node refused, by code',
    labelNames: ['code'],
    collect() {
      for (const [code, n] of Object.entries(node.rejectCounts())) this.set({ code }, n);
    },
  });
}
