/** Per-file setup for the file-transfer tests: one Mosquitto broker, peers that quit after each test, a scratch folder. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { openBroker, type TestBroker } from '../../helpers/brokers';
import { HeadlessPeer, tempProfile } from '../../helpers/headless-peer';

export interface FilePeers {
  /** Scratch folder for the files a test sends. */
  work: string;
  start(name: string, profile?: string, extraArgs?: string[]): Promise<HeadlessPeer>;
  brokerUrl(): string;
}

/** Call inside a describe: registers the hooks. `env` goes to every peer; `beforeQuit` runs on them first (e.g. SIGCONT). */
export function filePeers(tag: string, opts: { env?: NodeJS.ProcessEnv; beforeQuit?: (peers: HeadlessPeer[]) => void } = {}): FilePeers {
  let broker: TestBroker;
  const peers: HeadlessPeer[] = [];
  const work = mkdtempSync(join(tmpdir(), `parley-${tag}-`));
  beforeAll(async () => {
    broker = await openBroker('mosquitto');
  });
  afterEach(async () => {
    opts.beforeQuit?.(peers);
    await Promise.all(peers.splice(0).map((p) => p.quit()));
  });
  afterAll(async () => {
    await broker.close();
  });
  return {
    work,
    brokerUrl: () => broker.url,
    async start(name, profile = tempProfile(name), extraArgs) {
      const p = await HeadlessPeer.start({ profile, name, broker: broker.url, ...(opts.env ? { env: opts.env } : {}), ...(extraArgs ? { extraArgs } : {}) });
      peers.push(p);
      return p;
    },
  };
}
