/**
 * The registry as the discovery chain and the announcer see it (seed 004 step 5, DESIGN section 8).
 * The HTTP client (token, retries) is registry-client.ts; this only decides what to ask and what to
 * announce.
 */
import type { IceResponse } from '../../../shared/schemas/ice';
import type { Signer } from '../../../shared/crypto';
import type { Identity } from '../../../shared/identity';
import { signAnnounce, type Announce, type CoordinatorHeartbeat, type PeerResponse } from '../../../shared/schemas/registry';

/** What the chain needs of the registry client. */
export interface RegistryClientLike {
  getPeer(networkId: string, userId: string, opts?: { signal?: AbortSignal }): Promise<PeerResponse>;
  announce(networkId: string, announce: Announce, opts?: { signal?: AbortSignal }): Promise<unknown>;
  /** `GET /ice`: ICE servers and TURN credentials from the registry's operator (validated). */
  ice?(opts?: { signal?: AbortSignal }): Promise<IceResponse>;
  /** POST /coordinator/heartbeat (signed by the client). */
  heartbeat?(fields: Omit<CoordinatorHeartbeat, 'userId' | 'ts' | 'sig'>, opts?: { signal?: AbortSignal }): Promise<unknown>;
}

/** A coordinator's heartbeat renews its entry (the registry keeps it 90 s). */
export const HEARTBEAT_EVERY_MS = 30_000;

export const ANNOUNCE_EVERY_MS = 60_000;
export const ANNOUNCE_TTL_MS = 180_000;

export interface RegistryLinkDeps {
  client: RegistryClientLike;
  url: string;
  networkId: string;
  identity: Identity;
  signer: Signer;
  deviceId: string;
  ownSignalAddrs: () => string[];
  /** Non-null while this device acts as a coordinator: what its heartbeat reports. */
  coordinatorStatus?: () => { peers: number; stored: number } | null;
  onError: (what: string, error: unknown) => void;
  /** After an announce the registry took (the network panel shows it, stale errors retract). */
  onAnnounced?: () => void;
}

export class RegistryLink {
  private timer: ReturnType<typeof setInterval> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  lastHeartbeatOk: number | null = null;
  lastAnnounceOk: number | null = null;
  lastError: string | null = null;

  constructor(private readonly deps: RegistryLinkDeps) {}

  get url(): string {
    return this.deps.url;
  }

  start(): void {
    void this.announce();
    this.timer = setInterval(() => void this.announce(), ANNOUNCE_EVERY_MS);
    this.timer.unref?.();
    void this.heartbeat();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), HEARTBEAT_EVERY_MS);
    this.heartbeatTimer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.heartbeatTimer);
  }

  /** While this device is a coordinator: POST /coordinator/heartbeat with its peers and held count. */
  async heartbeat(): Promise<void> {
    const status = this.deps.coordinatorStatus?.() ?? null;
    if (!status || !this.deps.client.heartbeat) return;
    const addrs = this.deps.ownSignalAddrs();
    try {
      await this.deps.client.heartbeat({
        networkId: this.deps.networkId, deviceId: this.deps.deviceId,
        signalAddr: addrs.find((a) => a.startsWith('ws')) ?? addrs[0] ?? null, peers: status.peers, stored: status.stored,
      }, { signal: AbortSignal.timeout(10_000) });
      this.lastHeartbeatOk = Date.now();
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      this.deps.onError('coordinator heartbeat', error);
    }
  }

  /** A signed announce with where this device can be signaled (its WebSocket addresses first). */
  async announce(): Promise<void> {
    const addrs = this.deps.ownSignalAddrs();
    const wsFirst = [...addrs.filter((a) => a.startsWith('ws')), ...addrs.filter((a) => !a.startsWith('ws'))];
    const body = signAnnounce({
      networkId: this.deps.networkId, deviceId: this.deps.deviceId, signalAddr: wsFirst[0] ?? null,
      signalAddrs: wsFirst.slice(0, 8), canRelay: false, coordinator: (this.deps.coordinatorStatus?.() ?? null) !== null, ttlMs: ANNOUNCE_TTL_MS,
    }, this.deps.identity, this.deps.signer);
    try {
      await this.deps.client.announce(this.deps.networkId, body, { signal: AbortSignal.timeout(10_000) });
      this.lastAnnounceOk = Date.now();
      this.lastError = null;
      this.deps.onAnnounced?.();
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      this.deps.onError('announce', error);
    }
  }

  /** GET peer: the addresses the registry has for an online peer (empty when offline or unknown). */
  async lookup(userId: string, timeoutMs: number): Promise<{ signalAddrs: string[]; coordinators: string[] }> {
    const r = await this.deps.client.getPeer(this.deps.networkId, userId, { signal: AbortSignal.timeout(timeoutMs) });
    const addrs = r.online ? [...(r.signalAddrs ?? []), ...(r.signalAddr ? [r.signalAddr] : [])] : [];
    return { signalAddrs: [...new Set(addrs)], coordinators: r.lastCoordinators };
  }
}
