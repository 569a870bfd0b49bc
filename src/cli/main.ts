/**
 * The `parley` command. Each subcommand loads its part lazily so `parley peer` does not pay for
 * the broker or the web server.
 */
import { Command, InvalidArgumentError } from 'commander';

const program = new Command();
program
  .name('parley')
  .description('Parley: peer-to-peer messenger — headless peer, web mode and servers')
  .showHelpAfterError('(run parley --help for usage)');

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

program
  .command('peer')
  .description('run a headless peer controlled by JSON lines on stdin/stdout (see README)')
  .requiredOption('--profile <dir>', 'profile directory: one identity, its keys and its database')
  .option('--name <name>', 'display name')
  .option('--broker <url>', 'MQTT broker URL (default: the embedded broker on mqtt://127.0.0.1:18883)')
  .option('--ice <urls>', 'comma-separated STUN/TURN URLs', list)
  .option('--heartbeat-ms <ms>', 'presence heartbeat interval (default 30000)', positiveInt)
  .option('--offline-after-ms <ms>', 'mark a contact offline after this long without a heartbeat (default 60000)', positiveInt)
  .option('--json', 'speak the JSON-lines control protocol (the only mode for now)', true)
  .action(async (o: { profile: string; name?: string; broker?: string; ice?: string[]; heartbeatMs?: number; offlineAfterMs?: number }) => {
    const { runPeer } = await import('./peer');
    await runPeer(o);
  });

program
  .command('web')
  .description('serve the UI to a browser on localhost, guarded by a random token')
  .option('--port <port>', 'HTTP port (0 = any free port)', positiveInt, 0)
  .option('--profile <dir>', 'profile directory', defaultProfileDir())
  .option('--broker <url>', 'MQTT broker URL')
  .option('--name <name>', 'display name')
  .action(async (o: { port: number; profile: string; broker?: string; name?: string }) => {
    const { runWeb } = await import('./web');
    await runWeb(o);
  });

const { registerServerCommand } = await import('../server/server');
const { mailboxComponent } = await import('../server/mailbox/server-component');
registerServerCommand(program, [mailboxComponent]);

const { registerMailboxCommands } = await import('./mailbox');
registerMailboxCommands(program);

function defaultProfileDir(): string {
  const home = process.env.HOME ?? process.cwd();
  return `${home}/.parley/default`;
}

await program.parseAsync(process.argv);
