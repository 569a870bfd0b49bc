/** Starts fixtures/broker-process.ts and reads its stats and memory (for the flood tests). */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BrokerLimits, BrokerStats } from '../../../src/server/broker';
import { withTimeout } from '../../../src/shared/timeout';

const FIXTURE = fileURLToPath(new URL('./fixtures/broker-process.ts', import.meta.url));

export interface BrokerSample {
  stats: BrokerStats;
  rssBytes: number;
  heapUsedBytes: number;
}

export interface BrokerProcess {
  url: string;
  pid: number;
  sample(): Promise<BrokerSample>;
  stop(): Promise<void>;
}

export async function startBrokerProcess(limits: Partial<BrokerLimits> = {}): Promise<BrokerProcess> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify(limits)], { stdio: 'pipe' });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  const waiting: Array<(line: string) => void> = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const nextLine = (what: string): Promise<string> =>
    withTimeout(new Promise<string>((resolve) => waiting.push(resolve)), 60_000, `${what} (stderr: ${stderr.slice(-500)})`);
  const ready = JSON.parse(await nextLine('broker ready line')) as { mqtt: string; pid: number };
  return {
    url: ready.mqtt,
    pid: ready.pid,
    async sample() {
      const line = nextLine('broker stats');
      child.stdin.write('stats\n');
      return JSON.parse(await line) as BrokerSample;
    },
    async stop() {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin.end();
      await withTimeout(exited, 10_000, 'broker exit').catch(() => child.kill('SIGKILL'));
    },
  };
}
