/**
 * Contact requests and responses reach a person on whatever signaling they use (DESIGN section 3):
 * the broker, and their WebSocket signal server once we know it. Someone we have never reached has
 * no route yet, so one is looked up the way the discovery chain does (PEER_QUERY to our peers and
 * the registry, asked together) and the request goes to each address found. Lookups are user-initiated (add, accept, the periodic resend) and bounded:
 * at most MAX_LOOKUPS at once, and one per person per LOOKUP_EVERY_MS.
 */
import type { HostStepName, RouteHint } from '../../../shared/discovery';
import type { SignalingBodies } from '../../../shared/schemas/signaling';
import { withTimeout } from '../../../shared/timeout';
import type { NotifyCarried, SignalRouter } from '../../signaling/signal-router';

export const MAX_LOOKUPS = 8;
export const LOOKUP_EVERY_MS = 20_000;
const MAX_REMEMBERED = 1024;
/** Not on the chain's clock: nobody waits on a contact request, so give slow peers time. */
const LOOKUP_TIMEOUT_MS: Readonly<Partial<Record<HostStepName, number>>> = { peers: 3_000, registry: 8_000 };

/** Addresses a request goes to at once: hearsay from peers may be wrong, so not only the first. */
export const MAX_ADDRS = 3;

export interface ContactReachDeps {
  router: Pick<SignalRouter, 'send' | 'notifyAt' | 'hasWsRoute'>;
  lookup: (userId: string, step: HostStepName, timeoutMs: number) => Promise<RouteHint | null>;
  onError?: (userId: string, error: unknown) => void;
  now?: () => number;
}

export class ContactReach {
  private readonly now: () => number;
  private readonly lastLookup = new Map<string, number>();
  private inFlight = 0;
  /** Lookups started, addresses a request went to, lookups skipped by the caps. */
  readonly counters = { lookups: 0, sentTo: 0, skipped: 0 };

  constructor(private readonly deps: ContactReachDeps) {
    this.now = deps.now ?? Date.now;
  }

  send<T extends NotifyCarried>(to: string, type: T, body: SignalingBodies[T]): void {
    this.deps.router.send(to, type, body);
    if (this.deps.router.hasWsRoute(to)) return;
    const at = this.now();
    const last = this.lastLookup.get(to);
    if (this.inFlight >= MAX_LOOKUPS || (last !== undefined && at - last < LOOKUP_EVERY_MS)) {
      this.counters.skipped++;
      return;
    }
    this.remember(to, at);
    this.inFlight++;
    this.counters.lookups++;
    void this.find(to)
      .then((addrs) => {
        // Sealed to `to`: whoever else is at a wrong address learns nothing it did not know.
        for (const addr of addrs) if (this.deps.router.notifyAt(to, addr, type, body)) this.counters.sentTo++;
      })
      .catch((error: unknown) => this.deps.onError?.(to, error))
      .finally(() => this.inFlight--);
  }

  /** The WebSocket addresses our peers and the registry give for `userId` (asked at once). */
  private async find(userId: string): Promise<string[]> {
    // Cut off here too: a slot must come back even if a lookup never settles.
    const hints = await Promise.all((['peers', 'registry'] as const).map((step) => {
      const ms = LOOKUP_TIMEOUT_MS[step] ?? 3_000;
      return withTimeout(this.deps.lookup(userId, step, ms), ms + 1_000, `${step} lookup`).catch(() => null);
    }));
    const addrs = hints.map((h) => h?.signalAddr).filter((a): a is string => typeof a === 'string' && /^wss?:\/\//.test(a));
    return [...new Set(addrs)].slice(0, MAX_ADDRS);
  }

  private remember(userId: string, at: number): void {
    this.lastLookup.delete(userId);
    this.lastLookup.set(userId, at);
    if (this.lastLookup.size > MAX_REMEMBERED) this.lastLookup.delete(this.lastLookup.keys().next().value as string);
  }
}
