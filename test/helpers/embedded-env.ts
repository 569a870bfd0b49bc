import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';

export interface EmbeddedEnv {
  PARLEY_EMBEDDED_MQTT_PORT: string;
  PARLEY_EMBEDDED_MQTT_WS_PORT: string;
  PARLEY_EMBEDDED_SIGNAL_PORT: string;
  PARLEY_EMBEDDED_REGISTRY_PORT: string;
  PARLEY_EMBEDDED_MAILBOX_PORT: string;
  PARLEY_EMBEDDED_DATA_DIR: string;
  PARLEY_EMBEDDED_MAILBOX_DIR: string;
  PARLEY_EMBEDDED_IDLE_MS: string;
  [key: string]: string;
}

/**
 * Environment for a test's own embedded background server: free loopback ports and fresh folders,
 * so it never meets the user's (or another test's) embedded defaults. `idleMs` is how long the
 * server outlives its last user.
 */
export async function embeddedEnv(idleMs: number): Promise<EmbeddedEnv> {
  return {
    PARLEY_EMBEDDED_MQTT_PORT: String(await freePort()),
    PARLEY_EMBEDDED_MQTT_WS_PORT: String(await freePort()),
    PARLEY_EMBEDDED_SIGNAL_PORT: String(await freePort()),
    PARLEY_EMBEDDED_REGISTRY_PORT: String(await freePort()),
    PARLEY_EMBEDDED_MAILBOX_PORT: String(await freePort()),
    PARLEY_EMBEDDED_DATA_DIR: mkdtempSync(join(tmpdir(), 'parley-embedded-')),
    PARLEY_EMBEDDED_MAILBOX_DIR: mkdtempSync(join(tmpdir(), 'parley-embedded-mailbox-')),
    PARLEY_EMBEDDED_IDLE_MS: String(idleMs),
  };
}
