/** `parley web`: the host services in Node, the UI in a browser on localhost. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHost } from '../main/host/host';
import { startWebServer } from '../main/web/server';
import { registryClientFactory, wsClientFactory } from '../main/host/reach-clients';

export interface WebCliOptions {
  port: number; profile: string; broker?: string; name?: string; mailbox?: string;
  signal?: string[]; registry?: string; network?: string; ice?: string[];
}

const RENDERER_DIR = resolve(fileURLToPath(new URL('../../out/renderer', import.meta.url)));

export async function runWeb(opts: WebCliOptions): Promise<void> {
  if (!existsSync(resolve(RENDERER_DIR, 'index.html'))) {
    console.error(`The UI is not built yet (${RENDERER_DIR} is missing). Run "npm run build:renderer" and try again.`);
    process.exitCode = 1;
    return;
  }
  // No meshFactory: the WebRTC mesh runs in the browser page and attaches over the API.
  const host = await startHost({
    profileDir: opts.profile, brokerUrl: opts.broker, name: opts.name, mailbox: opts.mailbox,
    signalUrls: opts.signal, registryUrl: opts.registry, networkId: opts.network, iceServers: opts.ice,
    wsClientFactory, registryClientFactory,
  });
  const web = await startWebServer({ host, port: opts.port, rendererDir: RENDERER_DIR, uploadDir: resolve(opts.profile, 'outgoing') });
  const who = await host.handle('whoami', {});
  process.stdout.write(`${JSON.stringify({ ready: true, url: web.url, userId: who.userId, profile: opts.profile })}\n`);
  process.stderr.write(`Parley web mode for ${who.name}: open ${web.url}\n`);
  const stop = async (): Promise<void> => {
    await web.close();
    await host.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}
