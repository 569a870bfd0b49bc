/**
 * TLS material for every server `parley server` runs (MQTT over TLS, WSS, HTTPS): read once from
 * the files an operator names with --tls-cert/--tls-key, with errors that say which file is wrong.
 * Clients use the same loader for an extra CA file (self-signed deployments).
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

export interface TlsFilePaths {
  certFile: string;
  keyFile: string;
}

/** What node's tls/https createServer takes; PEM contents, not paths. */
export interface TlsServerOptions {
  cert: Buffer;
  key: Buffer;
}

export class TlsConfigError extends Error {}

export function loadTlsServerOptions(files: TlsFilePaths): TlsServerOptions {
  const cert = readPem(files.certFile, 'certificate (--tls-cert)');
  const key = readPem(files.keyFile, 'private key (--tls-key)');
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new TlsConfigError(
      `TLS certificate ${files.certFile} and key ${files.keyFile} do not form a usable pair: ${(error as Error).message}`,
    );
  }
  return { cert, key };
}

/** Extra trusted CA certificates (PEM) for clients; the system roots still apply. */
export function loadCaFile(caFile: string): Buffer {
  return readPem(caFile, 'CA certificate file');
}

function readPem(file: string, what: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (error) {
    throw new TlsConfigError(`cannot read the TLS ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (!pem.toString('latin1').includes('-----BEGIN ')) throw new TlsConfigError(`the TLS ${what} ${file} is not a PEM file`);
  return pem;
}
