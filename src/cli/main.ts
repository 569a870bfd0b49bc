/**
 * The `parley` command. Each subcommand loads its part lazily so `parley peer` does not pay for
 * the broker or the web server.
 */
import { Command, InvalidArgumentError } from 'commander';
import { MAILBOX_SETTING_RE } from '../shared/api';

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

function mailboxSetting(value: string): string {
  const v = value.trim();
  if (!MAILBOX_SETTING_RE.test(v)) throw new InvalidArgumentError("expected HOST:PORT,... or 'none'");
  return v;
}

function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, ...list(value)];
}

program
  .command('peer')
  .description('run a headless peer controlled by JSON lines on stdin/stdout (see README)')
  .requiredOption('--profile <dir>', 'profile directory: one identity, its keys and its database')
  .option('--name <name>', 'display name')
  .option('--broker <url>', 'MQTT broker URL, or "none" for no MQTT at all (default: the embedded broker on mqtt://127.0.0.1:18883)')
  .option('--signal <url>', 'WebSocket signal server to stay attached to, e.g. ws://127.0.0.1:18885 (repeatable or comma-separated)', collect, [])
  .option('--registry <url>', 'registry URL, e.g. http://127.0.0.1:18886: announce there and look peers up (discovery step 5)')
  .option('--network <id>', 'network id at the registry (default parley)')
  .option('--ice <urls>', 'comma-separated STUN/TURN URLs; TURN credentials as turn:USER:PASS@host:port', list)
  .option('--heartbeat-ms <ms>', 'presence heartbeat interval (default 30000)', positiveInt)
  .option('--offline-after-ms <ms>', 'mark a contact offline after this long without a heartbeat (default 60000)', positiveInt)
  .option('--mailbox <seeds>', "mailbox for offline contacts: HOST:PORT,... of a node or cluster, or 'none' (default: the embedded one with the embedded broker)", mailboxSetting)
  .option('--mailbox-poll-ms <ms>', 'fallback poll of this device\'s mailbox inbox (default 30000)', positiveInt)
  .option('--import-identity <file>', 'a new profile takes this identity export (another device of the same user)')
  .option('--coordinator', 'hold sealed messages for contacts while they are offline and forward them when they connect (the coordinator setting)')
  .option('--coordinator-hold-ms <ms>', 'as a coordinator, keep a copy at most this long (default 604800000, 7 days)', positiveInt)
  .option('--relay', 'relay for my contacts: carry sealed frames between two contacts who cannot connect directly (saved; default off)')
  .option('--downloads <dir>', 'downloads folder for received files, for this run (default: the setting, or PROFILE/downloads)')
  .option('--max-file-bytes <n>', 'largest file to accept, for this run (default: the setting, or 4 GiB)', positiveInt)
  .option('--json', 'speak the JSON-lines control protocol (the only mode for now)', true)
  .action(async (o: { profile: string; name?: string; broker?: string; ice?: string[]; heartbeatMs?: number; offlineAfterMs?: number; mailbox?: string; signal: string[]; registry?: string; network?: string; mailboxPollMs?: number; importIdentity?: string; coordinator?: boolean; coordinatorHoldMs?: number; relay?: boolean; downloads?: string; maxFileBytes?: number }) => {
    const { runPeer } = await import('./peer');
    await runPeer({ ...o, signal: o.signal.length > 0 ? o.signal : undefined });
  });

program
  .command('web')
  .description('serve the UI to a browser on localhost, guarded by a random token')
  .option('--port <port>', 'HTTP port (0 = any free port)', positiveInt, 0)
  .option('--profile <dir>', 'profile directory', defaultProfileDir())
  .option('--broker <url>', 'MQTT broker URL')
  .option('--name <name>', 'display name')
  .option('--mailbox <seeds>', "mailbox for offline contacts: HOST:PORT,... or 'none'", mailboxSetting)
  .option('--signal <url>', 'WebSocket signal server to stay attached to (repeatable or comma-separated)', collect, [])
  .option('--registry <url>', 'registry URL: announce there and look peers up (discovery step 5), and take its ICE/TURN servers (GET /ice)')
  .option('--network <id>', 'network id at the registry (default parley)')
  .option('--ice <urls>', 'comma-separated STUN/TURN URLs; TURN credentials as turn:USER:PASS@host:port', list)
  .action(async (o: { port: number; profile: string; broker?: string; name?: string; mailbox?: string; signal: string[]; registry?: string; network?: string; ice?: string[] }) => {
    const { runWeb } = await import('./web');
    await runWeb({ ...o, signal: o.signal.length > 0 ? o.signal : undefined });
  });

const { registerServerCommand } = await import('../server/server');
const { mailboxComponent } = await import('../server/mailbox/server-component');
const { signalComponent } = await import('../server/signal');
const { registryComponent } = await import('../server/registry');
registerServerCommand(program, [signalComponent, registryComponent, mailboxComponent]);

const { registerMailboxCommands } = await import('./mailbox');
registerMailboxCommands(program);

function defaultProfileDir(): string {
  const home = process.env.HOME ?? process.cwd();
  return `${home}/.parley/default`;
}

await program.parseAsync(process.argv);
