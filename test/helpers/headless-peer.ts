/**
 * Drives a real `parley peer --json` child process over its stdin/stdout, the way scripts do.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export type Line = Record<string, unknown> & { event?: string; ok?: boolean; reqId?: string | number };

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const BIN = join(ROOT, 'bin/parley.mjs');

export function tempProfile(label = 'peer'): string {
  return mkdtempSync(join(tmpdir(), `parley-${label}-`));
}

export interface PeerOptions {
  profile: string;
  name?: string;
  broker?: string;
  extraArgs?: string[];
  /** Command prefix, e.g. ['ip', 'netns', 'exec', NS] to run the peer inside a network namespace. */
  wrap?: string[];
  /** Extra environment variables for the peer process. */
  env?: NodeJS.ProcessEnv;
  /** How long start() waits for the ready line (default 30 s; a loaded machine may need more). */
  readyTimeoutMs?: number;
  /** Runs this script instead of bin/parley.mjs (a test's own peer, e.g. an attacker), same arguments. */
  script?: string;
}

export class HeadlessPeer {
  readonly lines: Line[] = [];
  readonly stderr: string[] = [];
  userId = '';
  private readonly child: ChildProcessWithoutNullStreams;
  private nextReq = 1;
  private waiters: { pred: (l: Line) => boolean; resolve: (l: Line) => void }[] = [];
  readonly exited: Promise<number | null>;
  /** The process exited and its output was read to the end. */
  private closed = false;

  private constructor(readonly opts: PeerOptions) {
    // PARLEY_PEER_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the peers.
    const nodeArgs = (process.env.PARLEY_PEER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const args = [...nodeArgs, opts.script ?? BIN, 'peer', '--profile', opts.profile, '--json'];
    if (opts.name) args.push('--name', opts.name);
    if (opts.broker) args.push('--broker', opts.broker);
    args.push(...(opts.extraArgs ?? []));
    const [command, ...rest] = [...(opts.wrap ?? []), process.execPath, ...args] as [string, ...string[]];
    this.child = spawn(command, rest, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    this.exited = new Promise((r) => this.child.on('exit', (code) => r(code)));
    this.child.once('close', () => (this.closed = true));
    createInterface({ input: this.child.stdout }).on('line', (raw) => {
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        line = { event: 'non-json-output', raw };
      }
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(line)) return true;
        w.resolve(line);
        return false;
      });
    });
    this.child.stderr.on('data', (d: Buffer) => this.stderr.push(d.toString()));
  }

  static async start(opts: PeerOptions): Promise<HeadlessPeer> {
    const peer = new HeadlessPeer(opts);
    let ready: Line;
    try {
      ready = await peer.waitFor((l) => l.event === 'ready' || l.event === 'error', opts.readyTimeoutMs ?? 30_000);
    } catch (error) {
      await peer.kill(); // a peer that never got ready must not keep holding its profile
      throw error;
    }
    if (ready.event !== 'ready') throw new Error(`peer failed to start: ${JSON.stringify(ready)} ${peer.stderr.join('')}`);
    peer.userId = String(ready.userId);
    return peer;
  }

  /** Resolves once the peer's MQTT session (and so its subscription) is up. */
  signalingUp(timeoutMs = 30_000): Promise<Line> {
    return this.waitFor((l) => l.event === 'signaling' && l.state === 'connected', timeoutMs);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Finds a line already seen or waits for the next one matching. */
  /**
   * Finds a matching line already seen (from index `since`, or all when `includePast` is true)
   * or waits for the next one.
   */
  waitFor(pred: (l: Line) => boolean, timeoutMs = 30_000, includePast: boolean | number = true): Promise<Line> {
    if (includePast !== false) {
      const since = includePast === true ? 0 : includePast;
      const past = this.lines.slice(since).find(pred);
      if (past) return Promise.resolve(past);
    }
    return new Promise((resolvePromise, reject) => {
      const who = this.opts.name ?? this.opts.profile;
      const fail = (why: string): void => {
        clearTimeout(timer);
        this.child.off('close', onExit);
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`${why} waiting on ${who}; last lines: ${JSON.stringify(this.lines.slice(-5))} stderr: ${this.stderr.join('').slice(-2000)}`));
      };
      // A peer that died never prints the line: say so at once instead of waiting out the timeout
      // ('close', not 'exit': by then every line it printed has been read).
      const onExit = (): void => fail(`the process exited (code ${this.child.exitCode}, signal ${this.child.signalCode})`);
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
      const done = (l: Line): void => {
        clearTimeout(timer);
        this.child.off('close', onExit);
        resolvePromise(l);
      };
      this.waiters.push({ pred, resolve: done });
      if (this.closed) onExit();
      else this.child.once('close', onExit);
    });
  }

  writeRaw(text: string): void {
    this.child.stdin.write(text);
  }

  /** Writes bytes to the peer's stdin, waiting while the pipe is full. */
  async writeBytes(data: Buffer): Promise<void> {
    if (!this.child.stdin.write(data)) await new Promise<void>((r) => this.child.stdin.once('drain', () => r()));
  }

  async request(op: Record<string, unknown>, timeoutMs = 30_000): Promise<Line> {
    const reqId = `r${this.nextReq++}`;
    const reply = this.waitFor((l) => l.reqId === reqId && l.event === undefined, timeoutMs, false);
    this.child.stdin.write(`${JSON.stringify({ ...op, reqId })}\n`);
    return reply;
  }

  async ok(op: Record<string, unknown>, timeoutMs = 30_000): Promise<Line> {
    const reply = await this.request(op, timeoutMs);
    if (reply.ok !== true) throw new Error(`${JSON.stringify(op)} failed: ${JSON.stringify(reply)}`);
    return reply;
  }

  async quit(): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.stdin.write(`${JSON.stringify({ op: 'quit' })}\n`);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }
}

/** Makes a and b accepted contacts of each other and waits until their channel is open. */
export async function befriend(a: HeadlessPeer, b: HeadlessPeer, timeoutMs = 30_000): Promise<void> {
  await Promise.all([a.signalingUp(timeoutMs), b.signalingUp(timeoutMs)]);
  await a.ok({ op: 'contact.add', userId: b.userId, name: b.opts.name ?? 'b' }, timeoutMs);
  await b.waitFor((l) => l.event === 'contactRequest' && l.userId === a.userId, timeoutMs);
  await b.ok({ op: 'contact.accept', userId: a.userId }, timeoutMs);
  await a.waitFor((l) => l.event === 'contactAccepted' && l.userId === b.userId, timeoutMs);
  await waitConnected(a, b.userId, Math.max(60_000, timeoutMs));
  await waitConnected(b, a.userId, Math.max(60_000, timeoutMs));
}

export function waitConnected(p: HeadlessPeer, other: string, timeoutMs = 60_000, includePast: boolean | number = true): Promise<Line> {
  return p.waitFor((l) => l.event === 'connection' && l.userId === other && l.state === 'CONNECTED', timeoutMs, includePast);
}

export async function messagesWith(p: HeadlessPeer, other: string, limit = 1000): Promise<{ id: string; from: string; text: string; status: string }[]> {
  const reply = await p.ok({ op: 'messages', with: other, limit });
  return reply.messages as { id: string; from: string; text: string; status: string }[];
}

/** Polls until check passes (for state that arrives through several events). */
export async function eventually<T>(fn: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!check(last)) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, everyMs));
    last = await fn();
  }
  return last;
}
