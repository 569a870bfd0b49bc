// The mailbox wire's sockets, plain TCP or TLS (`--tls-cert/--tls-key` on the node). A TLS client
// checks the node's certificate the normal way (chain and host name); `ca` adds trusted CAs to the
// system roots for a self-signed deployment (PARLEY_CA_FILE at the command line).
import net from 'node:net';
import tls from 'node:tls';

export interface MailboxTlsClientOptions {
  /** extra trusted CA certificates (PEM), in addition to the system roots */
  ca?: Buffer;
}

export interface MailboxTlsServerOptions {
  cert: Buffer;
  key: Buffer;
}

/** Connects to a node; the returned socket emits `connect` once usable (after the TLS handshake). */
export function dialMailbox(host: string, port: number, tlsOpts?: MailboxTlsClientOptions): net.Socket {
  if (!tlsOpts) return net.connect({ host, port });
  return tls.connect({
    host,
    port,
    ...(net.isIP(host) ? {} : { servername: host }),
    ...(tlsOpts.ca ? { ca: [...tls.rootCertificates, tlsOpts.ca.toString('utf8')] } : {}),
  });
}

/** The event after which a dialed socket is usable (a TLS socket: after its handshake). */
export function readyEvent(tlsOpts?: MailboxTlsClientOptions): 'connect' | 'secureConnect' {
  return tlsOpts ? 'secureConnect' : 'connect';
}

/** A connection error in words, with what to do when the node's certificate is not trusted. */
export function describeDialError(err: NodeJS.ErrnoException): string {
  const code = err.code ?? '';
  if (/CERT|SELF_SIGNED|ALTNAME|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return `${err.message} (${code}): the node's certificate is not trusted for this address; for a self-signed deployment give the client its CA (PARLEY_CA_FILE=ca.pem)`;
  }
  return err.message;
}

export function createMailboxServer(onSocket: (socket: net.Socket) => void, tlsOpts?: MailboxTlsServerOptions): net.Server {
  return tlsOpts ? tls.createServer({ cert: tlsOpts.cert, key: tlsOpts.key }, onSocket) : net.createServer(onSocket);
}
