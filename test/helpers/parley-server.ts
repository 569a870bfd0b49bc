/** Runs a real `parley server` child process (bin/parley.mjs) and reads its ready line. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const PARLEY_BIN = join(ROOT, 'bin/parley.mjs');

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  ready: Record<string, string | boolean>;
  stderr: () => string;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after the grace period; resolves to the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export interface ServerRun {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/**
 * Spawns `parley server ARGS` and returns at once (for tests of failures). Unless the test names a
 * data folder (`--data`, or PARLEY_SERVER_DATA_DIR in env), the server gets a fresh one of its own
 * (removed when it exits), so parallel runs never share ~/.parley/server.
 */
export function runServer(args: string[], env: NodeJS.ProcessEnv = {}, wrap: string[] = []): ServerRun {
  // wrap: a command prefix, e.g. ['ip', 'netns', 'exec', NS] to run it inside a network namespace
  const argv = [process.execPath, PARLEY_BIN, 'server', ...args];
  const [command, ...rest] = [...wrap, ...argv] as [string, ...string[]];
  const ownData = !args.includes('--data') && !('PARLEY_SERVER_DATA_DIR' in env) ? mkdtempSync(join(tmpdir(), 'parley-server-')) : undefined;
  const child = spawn(command, rest, {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...(ownData ? { PARLEY_SERVER_DATA_DIR: ownData } : {}), ...env },
  });
  if (ownData) child.once('exit', () => rmSync(ownData, { recursive: true, force: true }));
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Spawns `parley server ARGS` and waits for its ready line. */
export async function startServerProcess(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000, wrap: string[] = []): Promise<ServerProcess> {
  const run = runServer(args, env, wrap);
  const ready = await new Promise<Record<string, string | boolean>>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`parley server gave no ready line in ${timeoutMs} ms; stderr: ${run.stderr().slice(-2000)}`)), timeoutMs);
    const check = (): void => {
      const line = run.stdout().split('\n')[0];
      if (run.stdout().includes('\n') && line) {
        clearTimeout(timer);
        resolvePromise(JSON.parse(line) as Record<string, string | boolean>);
      }
    };
    run.child.stdout.on('data', check);
    void run.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`parley server exited with ${code} before ready; stderr: ${run.stderr().slice(-2000)}`));
    });
  });
  return {
    child: run.child,
    ready,
    stderr: run.stderr,
    exited: run.exited,
    async stop(graceMs = 20_000) {
      if (run.child.exitCode !== null || run.child.signalCode !== null) return run.child.exitCode;
      run.child.kill('SIGTERM');
      const timer = setTimeout(() => run.child.kill('SIGKILL'), graceMs);
      const code = await run.exited;
      clearTimeout(timer);
      return code;
    },
  };
}
