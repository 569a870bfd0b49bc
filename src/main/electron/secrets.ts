/**
 * OS-keychain protection for the identity key through Electron's safeStorage, in the shape the
 * host keystore accepts (SecretWrapper in src/main/host/keystore.ts).
 */
import { safeStorage } from 'electron';

export const SAFE_STORAGE_KIND = 'electron-safeStorage';

/**
 * On Linux without a keyring, safeStorage falls back to a hard-coded password ("basic_text"),
 * which protects nothing; treat that as unavailable rather than pretend.
 */
export function secretWrappingAvailable(): boolean {
  if (!safeStorage.isEncryptionAvailable()) return false;
  return !(process.platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text');
}

export function wrapSecret(plain: Uint8Array): Uint8Array {
  return new Uint8Array(safeStorage.encryptString(Buffer.from(plain).toString('base64')));
}

export function unwrapSecret(wrapped: Uint8Array): Uint8Array {
  return new Uint8Array(Buffer.from(safeStorage.decryptString(Buffer.from(wrapped)), 'base64'));
}

export interface SafeStorageWrapper {
  readonly kind: string;
  wrap(plain: Uint8Array): Uint8Array;
  unwrap(wrapped: Uint8Array): Uint8Array;
}

/** The wrapper to hand to startHost, or undefined when this machine cannot protect the key. */
export function safeStorageWrapper(): SafeStorageWrapper | undefined {
  return secretWrappingAvailable() ? { kind: SAFE_STORAGE_KIND, wrap: wrapSecret, unwrap: unwrapSecret } : undefined;
}
