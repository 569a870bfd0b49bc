// Process wrapper of a mailbox node: ready line on stdout, clean stop on SIGTERM/SIGINT.
import { ClusterKeyRequiredError, MailboxNode, type MailboxNodeOptions } from './node';

export async function runMailboxNode(opts: MailboxNodeOptions): Promise<MailboxNode> {
  let node: MailboxNode;
  try {
    node = new MailboxNode(opts);
  } catch (err) {
    if (!(err instanceof ClusterKeyRequiredError)) throw err;
    process.stderr.write(`parley mailbox node: ${err.message}\n`);
    process.exit(2);
  }
  const started = await node.start();
  process.stdout.write(
    JSON.stringify({ ready: true, id: node.id, clusterId: node.clusterId, addr: started.addr, port: started.port, recovered: started.recovered }) + '\n',
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    node
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        process.stderr.write(`mailbox node ${node.id}: error while stopping on ${signal}: ${String(err)}\n`);
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return node;
}
