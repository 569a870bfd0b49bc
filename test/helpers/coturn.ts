/**
 * A real coturn (`turnserver`) with the TURN REST API secret (`use-auth-secret` +
 * `static-auth-secret`): the scheme `parley server`'s `turn.secret` hands out credentials for.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Coturn {
  port: number;
  log(): string;
  stop(): Promise<void>;
}

export function coturnUnavailable(): string | null {
  try {
    execFileSync('turnserver', ['--version'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'turnserver is not installed (apt-get install -y coturn)';
  }
}

export interface CoturnOptions {
  secret: string;
  ip: string;
  port: number;
  /** Relay ports (min, max). */
  relayPorts: [number, number];
  /** Loopback tests relay between two peers on 127.0.0.1, which coturn refuses by default. */
  allowLoopback?: boolean;
  /** Command prefix, e.g. ['ip', 'netns', 'exec', NS]. */
  wrap?: string[];
  extraIps?: string[];
}

/** Starts coturn and waits until it listens (its log says so). */
export async function startCoturn(opts: CoturnOptions): Promise<Coturn> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-coturn-'));
  const conf = join(dir, 'turnserver.conf');
  const logFile = join(dir, 'turnserver.log');
  writeFileSync(conf, [
    ...[opts.ip, ...(opts.extraIps ?? [])].map((ip) => `listening-ip=${ip}`), `relay-ip=${opts.ip}`, `listening-port=${opts.port}`,
    `min-port=${opts.relayPorts[0]}`, `max-port=${opts.relayPorts[1]}`,
    'use-auth-secret', `static-auth-secret=${opts.secret}`, 'realm=parley.test',
    'fingerprint', 'no-tls', 'no-dtls', 'no-cli', 'no-multicast-peers', ...(opts.allowLoopback ? ['allow-loopback-peers'] : []),
    `userdb=${join(dir, 'turndb')}`, `pidfile=${join(dir, 'turnserver.pid')}`,
    'log-file=stdout', 'simple-log', 'verbose', '',
  ].join('\n'));
  writeFileSync(logFile, '');
  const argv = [...(opts.wrap ?? []), 'turnserver', '-c', conf];
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const append = (d: Buffer): void => writeFileSync(logFile, d, { flag: 'a' });
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const log = (): string => readFileSync(logFile, 'utf8');
  const deadline = Date.now() + 30_000;
  while (!/UDP listener opened/.test(log())) {
    if (child.exitCode !== null) throw new Error(`turnserver exited with ${child.exitCode}: ${log().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`turnserver did not start listening in 30 s: ${log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port: opts.port,
    log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
