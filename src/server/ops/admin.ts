/**
 * Operator endpoints: `GET /healthz` (200 while serving, 503 while draining) and `GET /metrics`
 * (Prometheus text). They run on their own admin listener (`--admin PORT`), never on a public
 * port unless the operator asks (`publicAdmin`), because metrics describe other people's traffic.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServerMetrics } from './metrics';

export interface Health {
  ok: boolean;
  state: 'serving' | 'draining';
  components: string[];
}

export type AdminHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Answers /healthz and /metrics; returns false for any other path so a host server can go on. */
export function adminHandler(metrics: ServerMetrics, health: () => Health): AdminHandler {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/healthz' && path !== '/metrics') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' }).end('{"error":"method not allowed"}');
      return true;
    }
    if (path === '/healthz') {
      const h = health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(h));
      return true;
    }
    metrics.text().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}`),
    );
    return true;
  };
}

export interface AdminServer {
  url: string;
  close(): Promise<void>;
}

export async function startAdminServer(handler: AdminHandler, port: number, host: string): Promise<AdminServer> {
  const server: Server = createServer((req, res) => {
    if (!handler(req, res)) res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found: try /healthz or /metrics"}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
