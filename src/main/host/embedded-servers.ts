/**
 * Zero-setup default (DESIGN section 11): with no broker configured, the first Parley on this
 * machine starts `parley server` as a detached background process on loopback, with its data in
 * the user's Parley data folder. Later instances (and the first one, once it is up) check that
 * what listens there is that server (embedded/proof.ts: only someone who can read the data
 * folder can answer) and attach. It outlives the instance that started it and stops itself
 * after being unused for a while. It also runs the embedded one-node mailbox (127.0.0.1:18887,
 * PARLEY_EMBEDDED_MAILBOX_PORT; data in DATA_DIR/mailbox), which holds messages for offline
 * contacts, so a deposit outlives the instance that made it.
 *
 * The background server also runs the signal server (18885) and the registry (18886, its SQLite
 * file in the data folder), so two local instances can find each other with no setup.
 *
 * Ports and folder can be moved with PARLEY_EMBEDDED_MQTT_PORT, PARLEY_EMBEDDED_MQTT_WS_PORT,
 * PARLEY_EMBEDDED_SIGNAL_PORT, PARLEY_EMBEDDED_REGISTRY_PORT,
 * PARLEY_EMBEDDED_DATA_DIR and PARLEY_EMBEDDED_IDLE_MS (tests run their own set side by side).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import net from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyEmbedded } from '../../server/embedded/proof';

function envPort(name: string, fallback: number): number {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : fallback;
}

export const EMBEDDED_MQTT_PORT = envPort('PARLEY_EMBEDDED_MQTT_PORT', 18883);
export const EMBEDDED_MQTT_WS_PORT = envPort('PARLEY_EMBEDDED_MQTT_WS_PORT', 18884);
export const EMBEDDED_BROKER_URL = `mqtt://127.0.0.1:${EMBEDDED_MQTT_PORT}`;
/** The same background server runs the WebSocket signal server and the registry (REACH-CONTRACT). */
export const EMBEDDED_SIGNAL_PORT = envPort('PARLEY_EMBEDDED_SIGNAL_PORT', 18885);
export const EMBEDDED_REGISTRY_PORT = envPort('PARLEY_EMBEDDED_REGISTRY_PORT', 18886);
export const EMBEDDED_SIGNAL_URL = `ws://127.0.0.1:${EMBEDDED_SIGNAL_PORT}`;
export const EMBEDDED_REGISTRY_URL = `http://127.0.0.1:${EMBEDDED_REGISTRY_PORT}`;
/** Stop the background server after this long with no client (default 10 minutes). */
const IDLE_EXIT_MS = envPort('PARLEY_EMBEDDED_IDLE_MS', 10 * 60 * 1000);

export function embeddedDataDir(): string {
  return process.env.PARLEY_EMBEDDED_DATA_DIR ?? join(homedir(), '.parley', 'embedded-server');
}

const PARLEY_BIN = fileURLToPath(new URL('../../../bin/parley.mjs', import.meta.url));

export class EmbeddedServerError extends Error {
  readonly code = 'EMBEDDED_SERVER';
}

/**
 * Makes sure the embedded background server runs and is ours; starts it when nothing listens.
 * Nothing to close afterwards: the server belongs to no instance. Throws EmbeddedServerError when
 * the port is held by something that can't prove it is Parley's own server.
 */
export async function ensureEmbeddedServers(timeoutMs = 30_000): Promise<null> {
  const dir = embeddedDataDir();
  if (await verifyEmbedded(dir, EMBEDDED_MQTT_WS_PORT)) return null;
  const taken = (await portInUse(EMBEDDED_MQTT_PORT)) || (await portInUse(EMBEDDED_MQTT_WS_PORT));
  if (!taken) {
    // Chat needs only the broker: a signal, registry or mailbox port someone else holds is left out, not fatal.
    const reach: string[] = [];
    if (!(await portInUse(EMBEDDED_SIGNAL_PORT))) reach.push('--signal', String(EMBEDDED_SIGNAL_PORT));
    if (!(await portInUse(EMBEDDED_REGISTRY_PORT))) reach.push('--registry', String(EMBEDDED_REGISTRY_PORT));
    const mailboxPort = Number(embeddedMailboxAddr().split(':')[1]);
    if (!(await portInUse(mailboxPort))) reach.push('--mailbox', String(mailboxPort));
    startBackground(dir, reach);
  }
  // Something already listening may be our server still starting: give it a moment, not the full start time.
  const deadline = Date.now() + (taken ? Math.min(5000, timeoutMs) : timeoutMs);
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 150));
    if (await verifyEmbedded(dir, EMBEDDED_MQTT_WS_PORT)) return null;
  }
  throw new EmbeddedServerError(
    `port ${EMBEDDED_MQTT_PORT}/${EMBEDDED_MQTT_WS_PORT} is in use by something that is not this user's Parley server (it could not prove itself); stop it, or set a broker URL in Settings`,
  );
}

function startBackground(dir: string, reachArgs: string[]): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const log = openSync(join(dir, 'server.log'), 'a', 0o600);
  const child = spawn(
    process.execPath,
    [
      PARLEY_BIN, 'server', '--embedded', '--data', dir,
      '--mqtt', String(EMBEDDED_MQTT_PORT), '--mqtt-ws', String(EMBEDDED_MQTT_WS_PORT),
      ...reachArgs,
      '--idle-exit-ms', String(IDLE_EXIT_MS), '--log-level', 'info',
    ],
    // Its own session, no pipes to us: it must outlive this process (ELECTRON_RUN_AS_NODE lets an Electron host run it as Node).
    { detached: true, stdio: ['ignore', log, log], env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } },
  );
  child.unref();
  closeSync(log);
}

async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export const EMBEDDED_MAILBOX_PORT_DEFAULT = 18887;

/** The embedded one-node mailbox's port (env PARLEY_EMBEDDED_MAILBOX_PORT, so test runs don't collide). */
export function embeddedMailboxAddr(): string {
  const fromEnv = Number(process.env.PARLEY_EMBEDDED_MAILBOX_PORT);
  const port = Number.isInteger(fromEnv) && fromEnv > 0 && fromEnv < 65536 ? fromEnv : EMBEDDED_MAILBOX_PORT_DEFAULT;
  return `127.0.0.1:${port}`;
}

