// A TCP proxy for one broker-to-broker link, so tests can cut and heal links one by one
// (minority/majority splits, an isolated leader, bridge topologies) between real processes.
import net from 'node:net';
import { parseHostPort } from './connection';

export class LinkProxy {
  private server: net.Server | null = null;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private isCut = false;
  port = 0;

  constructor(readonly target: string) {}

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  get cut(): boolean {
    return this.isCut;
  }

  async start(): Promise<this> {
    const { host, port } = parseHostPort(this.target);
    this.server = net.createServer((inbound) => {
      if (this.isCut) {
        inbound.destroy();
        return;
      }
      inbound.setNoDelay(true);
      const outbound = net.connect({ host, port });
      outbound.setNoDelay(true);
      const pair: [net.Socket, net.Socket] = [inbound, outbound];
      this.pairs.add(pair);
      const drop = (): void => {
        inbound.destroy();
        outbound.destroy();
        this.pairs.delete(pair);
      };
      inbound.on('error', drop);
      outbound.on('error', drop);
      inbound.on('close', drop);
      outbound.on('close', drop);
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  /** Drops every live connection and refuses new ones until healed. */
  setCut(cut: boolean): void {
    this.isCut = cut;
    if (!cut) return;
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.setCut(true);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
