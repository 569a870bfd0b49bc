/** `parley server --mailbox PORT`: a one-node mailbox cluster beside the embedded broker. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerComponent } from '../server';
import { MailboxNode } from './node';

export const mailboxComponent: ServerComponent = {
  name: 'mailbox',
  async start({ port, host, dataDir }) {
    const dir = dataDir ? join(dataDir, 'mailbox') : mkdtempSync(join(tmpdir(), 'parley-mailbox-'));
    const node = new MailboxNode({ id: 'm1', host, port, dataDir: dir, peers: [] });
    const started = await node.start();
    return { url: started.addr, close: () => node.stop() };
  },
};
