/**
 * A second client of a `parley web` instance's token-guarded API (/api), for tests that read what
 * the page's host knows (route traces, network status) while the page itself is driven by its UI.
 */
import WebSocket from 'ws';
import type { ApiArgs, ApiCall, ApiResults } from '../../src/shared/api';

export interface WebApiClient {
  call<C extends ApiCall>(call: C, args: ApiArgs<C>, timeoutMs?: number): Promise<ApiResults[C]>;
  close(): void;
}

/** `pageUrl` is the instance's `http://127.0.0.1:PORT/#token=…` URL. */
export async function connectWebApi(pageUrl: string): Promise<WebApiClient> {
  const url = new URL(pageUrl);
  const token = new URLSearchParams(url.hash.slice(1)).get('token') ?? '';
  const ws = new WebSocket(`ws://${url.host}/api?token=${encodeURIComponent(token)}`, { origin: `http://${url.host}` });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let next = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as { id?: number; ok?: boolean; result?: unknown; error?: { code: string; message: string } };
    if (msg.id === undefined) return;
    const w = waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    if (msg.ok) w.resolve(msg.result);
    else w.reject(new Error(`${msg.error?.code}: ${msg.error?.message}`));
  });
  return {
    call<C extends ApiCall>(call: C, args: ApiArgs<C>, timeoutMs = 60_000): Promise<ApiResults[C]> {
      const id = next++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { waiting.delete(id); reject(new Error(`${call}: no reply in ${timeoutMs} ms`)); }, timeoutMs);
        waiting.set(id, { resolve: (v) => { clearTimeout(timer); resolve(v as ApiResults[C]); }, reject: (e) => { clearTimeout(timer); reject(e); } });
        ws.send(JSON.stringify({ id, call, args }));
      });
    },
    close: () => ws.close(),
  };
}
