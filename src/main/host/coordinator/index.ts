/**
 * Store-and-forward through coordinator peers (seed 004 STORE_MESSAGE, DESIGN section 7), all
 * three roles of one device: the coordinator that holds copies (holder.ts, only when the user
 * opted in), the sender that deposits them (depositor.ts) and the recipient they are forwarded
 * to (forwarded.ts). Routes the verified STORE_* envelopes delivery hands over.
 */
import type { Envelope } from '../../../shared/envelope';
import type { DataChannelBodies } from '../../../shared/schemas/datachannel';
import { CoordinatorDepositor, type DepositorDeps } from './depositor';
import { ForwardedCopies, type ForwardedDeps } from './forwarded';
import { CoordinatorHolder, type HolderDeps } from './holder';

export { DEFAULT_HOLDER_LIMITS, type HolderLimits, type HolderStats } from './holder';
export { tieredStoreAndForward } from './tiers';

export const COORDINATOR_TYPES = ['STORE_MESSAGE', 'STORE_RECEIPT', 'STORE_ACK'] as const;

export function isCoordinatorType(type: string): type is (typeof COORDINATOR_TYPES)[number] {
  return (COORDINATOR_TYPES as readonly string[]).includes(type);
}

export interface CoordinatorDeps {
  holder: HolderDeps;
  depositor: DepositorDeps;
  forwarded: ForwardedDeps;
}

export class CoordinatorService {
  readonly holder: CoordinatorHolder;
  readonly depositor: CoordinatorDepositor;
  readonly forwarded: ForwardedCopies;

  constructor(private readonly deps: CoordinatorDeps) {
    this.holder = new CoordinatorHolder(deps.holder);
    this.depositor = new CoordinatorDepositor(deps.depositor);
    this.forwarded = new ForwardedCopies(deps.forwarded);
  }

  start(): void {
    this.holder.start();
  }

  stop(): void {
    this.depositor.stop();
    this.forwarded.stop();
    this.holder.stop();
  }

  /** A verified STORE_MESSAGE, STORE_RECEIPT or STORE_ACK (body already validated). */
  onEnvelope(env: Envelope): void {
    switch (env.type) {
      case 'STORE_MESSAGE': {
        const body = env.body as DataChannelBodies['STORE_MESSAGE'];
        if (body.recipient === this.deps.holder.identity.userId) this.forwarded.onForward(env.from, body);
        else this.holder.onDeposit(env.from, body);
        return;
      }
      case 'STORE_RECEIPT': return this.depositor.onReceipt(env.from, env.body as DataChannelBodies['STORE_RECEIPT']);
      case 'STORE_ACK': return this.holder.onStoreAck(env.from, env.body as DataChannelBodies['STORE_ACK']);
    }
  }

  onChannelOpen(peer: string): void {
    this.holder.onChannelOpen(peer);
  }
}
