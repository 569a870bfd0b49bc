/**
 * Two homes behind real NATs and a public server network, as Linux network namespaces (the
 * measured recipe in shared/natlab, rewritten here so tests own it). Namespace names carry a
 * per-run id so parallel runs don't clash; `down()` always removes them and what ran inside.
 *
 *   h1 (10.99.1.2) ─ nat1 (MASQUERADE) ─┐               ┌─ nat2 ─ h2 (10.99.2.2)
 *                                        └──── pub ──────┘   198.18.0.1 (+ .2): servers
 *
 * Variant 'cone': both routers plain MASQUERADE (port-restricted cone): STUN is enough.
 * Variant 'symmetric': h2's router uses --random-fully (address-and-port-dependent mapping): only TURN works.
 * Variant 'udp-blocked': h2's router drops all UDP; only TCP leaves (TURN over TCP is the way out).
 *
 * `prefix` keeps the namespaces of different test files apart by name (default 'pl').
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type NatVariant = 'cone' | 'symmetric' | 'udp-blocked';

export const PUBLIC_IP = '198.18.0.1';
export const TURN_USER = 'natlab';
export const TURN_PASS = 'natlabpass';

/** Why the lab can't run here, or null when it can. */
export function natlabUnavailable(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root';
  for (const [tool, args] of [['ip', ['netns', 'list']], ['iptables', ['--version']], ['turnserver', ['--version']]] as const) {
    try {
      execFileSync(tool, [...args], { stdio: 'ignore' });
    } catch {
      return `${tool} is not available (apt-get install -y iproute2 iptables coturn)`;
    }
  }
  return null;
}

export class NatLab {
  readonly id = randomBytes(3).toString('hex');
  readonly dir = mkdtempSync(join(tmpdir(), 'parley-natlab-'));
  private readonly children: ChildProcess[] = [];

  constructor(readonly variant: NatVariant, private readonly opts: { prefix?: string } = {}) {}

  ns(name: 'pub' | 'nat1' | 'nat2' | 'h1' | 'h2'): string {
    return `${this.opts.prefix ?? 'pl'}${this.id}-${name}`;
  }

  private get all(): string[] {
    return (['pub', 'nat1', 'nat2', 'h1', 'h2'] as const).map((n) => this.ns(n));
  }

  private x(ns: string, ...cmd: string[]): void {
    execFileSync('ip', ['netns', 'exec', ns, ...cmd], { stdio: 'pipe' });
  }

  up(): void {
    try {
      for (const n of this.all) {
        execFileSync('ip', ['netns', 'add', n]);
        this.x(n, 'ip', 'link', 'set', 'lo', 'up');
      }
      const pub = this.ns('pub');
      this.x(pub, 'ip', 'addr', 'add', `${PUBLIC_IP}/32`, 'dev', 'lo');
      this.x(pub, 'ip', 'addr', 'add', '198.18.0.2/32', 'dev', 'lo');
      this.x(pub, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
      for (const i of [1, 2] as const) {
        const nat = this.ns(`nat${i}`);
        const home = this.ns(`h${i}`);
        execFileSync('ip', ['link', 'add', `p${i}`, 'netns', pub, 'type', 'veth', 'peer', 'name', 'wan', 'netns', nat]);
        execFileSync('ip', ['link', 'add', 'lan', 'netns', nat, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', home]);
        this.x(pub, 'ip', 'addr', 'add', `198.18.${i}.1/24`, 'dev', `p${i}`);
        this.x(pub, 'ip', 'link', 'set', `p${i}`, 'up');
        this.x(nat, 'ip', 'addr', 'add', `198.18.${i}.2/24`, 'dev', 'wan');
        this.x(nat, 'ip', 'link', 'set', 'wan', 'up');
        this.x(nat, 'ip', 'addr', 'add', `10.99.${i}.1/24`, 'dev', 'lan');
        this.x(nat, 'ip', 'link', 'set', 'lan', 'up');
        this.x(nat, 'ip', 'route', 'add', 'default', 'via', `198.18.${i}.1`);
        this.x(nat, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
        this.x(home, 'ip', 'addr', 'add', `10.99.${i}.2/24`, 'dev', 'eth0');
        this.x(home, 'ip', 'link', 'set', 'eth0', 'up');
        this.x(home, 'ip', 'route', 'add', 'default', 'via', `10.99.${i}.1`);
        // home router: replies come in, everything else from outside is dropped; masquerade out
        this.x(nat, 'iptables', '-P', 'FORWARD', 'DROP');
        this.x(nat, 'iptables', '-A', 'FORWARD', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT');
        this.x(nat, 'iptables', '-A', 'FORWARD', '-i', 'lan', '-o', 'wan', '-j', 'ACCEPT');
        this.x(nat, 'iptables', '-A', 'INPUT', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT');
        this.x(nat, 'iptables', '-A', 'INPUT', '-i', 'wan', '-j', 'DROP');
        if (i === 2 && this.variant === 'udp-blocked') this.x(nat, 'iptables', '-I', 'FORWARD', '1', '-p', 'udp', '-j', 'DROP');
        const symmetric = i === 2 && this.variant === 'symmetric' ? ['--random-fully'] : [];
        this.x(nat, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE', ...symmetric);
      }
    } catch (err) {
      this.down();
      throw err;
    }
  }

  /** Starts a process inside a namespace; it is killed by down(). */
  spawnIn(ns: string, command: string, args: string[], logFile?: string): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (logFile) {
      const append = (d: Buffer): void => writeFileSync(logFile, d, { flag: 'a' });
      child.stdout?.on('data', append);
      child.stderr?.on('data', append);
    }
    this.children.push(child);
    return child;
  }

  /** coturn on 198.18.0.1:3478 (udp+tcp), long-term credentials natlab/natlabpass. */
  startTurn(): { log: () => string } {
    const conf = join(this.dir, 'turnserver.conf');
    const log = join(this.dir, 'turnserver.log');
    writeFileSync(conf, [
      `listening-ip=${PUBLIC_IP}`, 'listening-ip=198.18.0.2', `relay-ip=${PUBLIC_IP}`, 'listening-port=3478',
      'min-port=49160', 'max-port=49400', 'lt-cred-mech', `user=${TURN_USER}:${TURN_PASS}`, 'realm=natlab.test',
      'fingerprint', 'no-tls', 'no-dtls', 'no-cli', 'no-multicast-peers', `userdb=${join(this.dir, 'turndb')}`,
      'log-file=stdout', 'simple-log', 'verbose', '',
    ].join('\n'));
    writeFileSync(log, '');
    this.spawnIn(this.ns('pub'), 'turnserver', ['-c', conf], log);
    return { log: () => readFileSync(log, 'utf8') };
  }

  down(): void {
    for (const child of this.children.splice(0)) child.kill('SIGKILL');
    for (const n of this.all) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', n], { encoding: 'utf8' }).split('\n').filter(Boolean);
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
      } catch {
        // namespace not there
      }
    }
    for (const n of this.all) {
      try {
        execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
      } catch {
        // not created
      }
    }
  }
}
