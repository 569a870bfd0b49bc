/**
 * The identity's private key lives in `<profile>/identity.key` (mode 0600), never in SQLite and
 * never in the renderer. In Electron the bytes are additionally wrapped with safeStorage where the
 * platform offers it; the host takes that as an injected pair of functions so it stays electron-free.
 */
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { fromBase64, toBase64 } from '../../shared/encoding';
import { generateIdentity, identityFromSecretKey, newDeviceId, type Identity } from '../../shared/identity';

export interface SecretWrapper {
  /** Name recorded in the file so a profile moved to a machine without the wrapper says why it can't open. */
  readonly kind: string;
  wrap(plain: Uint8Array): Uint8Array;
  unwrap(wrapped: Uint8Array): Uint8Array;
}

export interface LoadedIdentity {
  identity: Identity;
  deviceId: string;
  created: boolean;
}

const KEY_FILE = 'identity.key';

const zKeyFile = z.object({
  version: z.literal(1),
  wrapping: z.string().max(32),
  secretKey: z.string().max(200),
  deviceId: z.string().regex(/^[0-9a-f]{32}$/),
}).strict();

export class KeystoreError extends Error {
  constructor(readonly code: 'KEY_FILE_CORRUPT' | 'KEY_WRAPPING_UNAVAILABLE', message: string) {
    super(message);
    this.name = 'KeystoreError';
  }
}

export function keyFilePath(profileDir: string): string {
  return join(profileDir, KEY_FILE);
}

export function loadOrCreateIdentity(profileDir: string, wrapper?: SecretWrapper): LoadedIdentity {
  const file = keyFilePath(profileDir);
  if (existsSync(file)) return readKeyFile(file, wrapper);
  const identity = generateIdentity();
  const deviceId = newDeviceId();
  writeKeyFile(file, identity.secretKey, deviceId, wrapper);
  return { identity, deviceId, created: true };
}

function readKeyFile(file: string, wrapper?: SecretWrapper): LoadedIdentity {
  let parsed: z.infer<typeof zKeyFile>;
  try {
    parsed = zKeyFile.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (err) {
    throw new KeystoreError('KEY_FILE_CORRUPT', `${file} is not a valid Parley key file (${(err as Error).message.slice(0, 200)}). Restore it from your identity export, or start with a new profile directory.`);
  }
  let secret = fromBase64(parsed.secretKey);
  if (parsed.wrapping !== 'none') {
    if (!wrapper || wrapper.kind !== parsed.wrapping) {
      throw new KeystoreError('KEY_WRAPPING_UNAVAILABLE', `${file} is protected with "${parsed.wrapping}", which is not available in this process. Open the profile with the desktop app on the machine that created it.`);
    }
    secret = wrapper.unwrap(secret);
  }
  if (secret.length !== 64) throw new KeystoreError('KEY_FILE_CORRUPT', `${file} holds a key of the wrong length.`);
  return { identity: identityFromSecretKey(secret), deviceId: parsed.deviceId, created: false };
}

function writeKeyFile(file: string, secretKey: Uint8Array, deviceId: string, wrapper?: SecretWrapper): void {
  const stored = wrapper ? wrapper.wrap(secretKey) : secretKey;
  const body = JSON.stringify({ version: 1, wrapping: wrapper ? wrapper.kind : 'none', secretKey: toBase64(stored), deviceId });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, body, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** Identity export: the secret key in the clear, for the user to keep somewhere safe. */
export function exportIdentity(loaded: LoadedIdentity): string {
  return JSON.stringify({ parleyIdentity: 1, secretKey: toBase64(loaded.identity.secretKey) });
}

export function importIdentity(profileDir: string, exported: string, wrapper?: SecretWrapper): LoadedIdentity {
  const parsed = z.object({ parleyIdentity: z.literal(1), secretKey: z.string().max(200) }).strict().safeParse(safeJson(exported));
  if (!parsed.success) throw new KeystoreError('KEY_FILE_CORRUPT', 'That is not a Parley identity export.');
  const secret = fromBase64(parsed.data.secretKey);
  if (secret.length !== 64) throw new KeystoreError('KEY_FILE_CORRUPT', 'The exported key has the wrong length.');
  const identity = identityFromSecretKey(secret);
  const deviceId = newDeviceId();
  writeKeyFile(keyFilePath(profileDir), secret, deviceId, wrapper);
  return { identity, deviceId, created: false };
}

function safeJson(s: string): unknown {
  try { return JSON.parse(s); } catch { return undefined; }
}
