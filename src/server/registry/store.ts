/**
 * Registry queries, the same over SQLite and PostgreSQL. Everything a request needs is in the
 * database (challenges, tokens, peers, coordinators), so any replica over the same database
 * answers any request. Each table that outside input grows has a cap and an expiry.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Announce, CoordinatorHeartbeat, ActivePeer, PeerResponse } from '../../shared/schemas/registry';
import type { RegistryDatabase } from './schema';

export interface RegistryCaps {
  /** Unexpired challenges per userId (older ones are deleted). */
  challengesPerUser: number;
  /** Unexpired challenges in total (beyond: the request is refused). */
  challenges: number;
  /** Live tokens per userId (oldest deleted). */
  tokensPerUser: number;
  /** Devices per user per network (beyond: refused). */
  devicesPerUser: number;
  /** Live peers per network (beyond: new devices refused; known ones can renew). */
  peersPerNetwork: number;
  activePeersListed: number;
  coordinatorsListed: number;
}

export const DEFAULT_REGISTRY_CAPS: RegistryCaps = {
  challengesPerUser: 4,
  challenges: 10_000,
  tokensPerUser: 8,
  devicesPerUser: 8,
  peersPerNetwork: 100_000,
  activePeersListed: 1000,
  coordinatorsListed: 16,
};

export type StoreRefusal = { ok: false; reason: 'CAPACITY' | 'UNKNOWN_CHALLENGE'; detail: string };

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class RegistryStore {
  constructor(
    private readonly db: Kysely<RegistryDatabase>,
    private readonly caps: RegistryCaps = DEFAULT_REGISTRY_CAPS,
  ) {}

  async createChallenge(userId: string, nonce: string, now: number, ttlMs: number): Promise<{ ok: true } | StoreRefusal> {
    const pending = await this.db
      .selectFrom('auth_challenges')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('expires_at', '>', now)
      .executeTakeFirstOrThrow();
    if (Number(pending.n) >= this.caps.challenges) {
      await this.purgeExpired(now);
      return { ok: false, reason: 'CAPACITY', detail: `${pending.n} challenges pending; try again in a minute` };
    }
    await this.db.insertInto('auth_challenges').values({ nonce, user_id: userId, expires_at: now + ttlMs }).execute();
    const keep = await this.db
      .selectFrom('auth_challenges')
      .select('nonce')
      .where('user_id', '=', userId)
      .orderBy('expires_at', 'desc')
      .orderBy('nonce')
      .limit(this.caps.challengesPerUser)
      .execute();
    await this.db
      .deleteFrom('auth_challenges')
      .where('user_id', '=', userId)
      .where('nonce', 'not in', keep.map((k) => k.nonce))
      .execute();
    return { ok: true };
  }

  /** Deletes the challenge and reports whether it was there, for this user and unexpired: each nonce works once. */
  async consumeChallenge(userId: string, nonce: string, now: number): Promise<boolean> {
    const deleted = await this.db
      .deleteFrom('auth_challenges')
      .where('nonce', '=', nonce)
      .where('user_id', '=', userId)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(deleted.numDeletedRows) === 1;
  }

  async issueToken(userId: string, now: number, ttlMs: number): Promise<{ token: string; expiresAt: number }> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = now + ttlMs;
    await this.db.insertInto('auth_tokens').values({ token_hash: hashToken(token), user_id: userId, created_at: now, expires_at: expiresAt }).execute();
    const keep = await this.db
      .selectFrom('auth_tokens')
      .select('token_hash')
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('token_hash')
      .limit(this.caps.tokensPerUser)
      .execute();
    await this.db
      .deleteFrom('auth_tokens')
      .where('user_id', '=', userId)
      .where('token_hash', 'not in', keep.map((k) => k.token_hash))
      .execute();
    return { token, expiresAt };
  }

  async tokenUser(token: string, now: number): Promise<string | null> {
    const row = await this.db
      .selectFrom('auth_tokens')
      .select('user_id')
      .where('token_hash', '=', hashToken(token))
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return row?.user_id ?? null;
  }

  async announce(a: Announce, now: number, ttlMs: number): Promise<{ ok: true; expiresAt: number } | StoreRefusal> {
    const known = await this.db
      .selectFrom('peers')
      .select('device_id')
      .where('network_id', '=', a.networkId)
      .where('user_id', '=', a.userId)
      .where('expires_at', '>', now)
      .execute();
    if (!known.some((k) => k.device_id === a.deviceId)) {
      if (known.length >= this.caps.devicesPerUser) {
        return { ok: false, reason: 'CAPACITY', detail: `at most ${this.caps.devicesPerUser} devices per user are announced at once` };
      }
      const rows = await this.db
        .selectFrom('peers')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('network_id', '=', a.networkId)
        .executeTakeFirstOrThrow();
      if (Number(rows.n) >= this.caps.peersPerNetwork && !(await this.evictOldestOffline(a.networkId, now))) {
        return { ok: false, reason: 'CAPACITY', detail: `network ${a.networkId} is full (${rows.n} peers online)` };
      }
    }
    const expiresAt = now + ttlMs;
    const signalAddrs = a.signalAddrs ?? (a.signalAddr ? [a.signalAddr] : []);
    const row = {
      network_id: a.networkId,
      user_id: a.userId,
      device_id: a.deviceId,
      signal_addr: a.signalAddr ?? signalAddrs[0] ?? null,
      signal_addrs: JSON.stringify(signalAddrs),
      coordinators: JSON.stringify(a.coordinators ?? []),
      can_relay: a.canRelay ? 1 : 0,
      coordinator: a.coordinator ? 1 : 0,
      announced_at: a.ts,
      last_seen: now,
      expires_at: expiresAt,
    };
    const { network_id: _n, user_id: _u, device_id: _d, ...update } = row;
    await this.db
      .insertInto('peers')
      .values(row)
      .onConflict((oc) =>
        oc
          .columns(['network_id', 'user_id', 'device_id'])
          .doUpdateSet(update)
          // A replayed older announce must not roll a device back.
          .where('peers.announced_at', '<=', a.ts),
      )
      .execute();
    return { ok: true, expiresAt };
  }

  async heartbeat(h: CoordinatorHeartbeat, now: number, ttlMs: number): Promise<{ ok: true; expiresAt: number }> {
    const expiresAt = now + ttlMs;
    const row = {
      network_id: h.networkId,
      user_id: h.userId,
      device_id: h.deviceId,
      signal_addr: h.signalAddr,
      peers: h.peers,
      stored: h.stored,
      announced_at: h.ts,
      last_seen: now,
      expires_at: expiresAt,
    };
    const { network_id: _n, user_id: _u, device_id: _d, ...update } = row;
    await this.db
      .insertInto('coordinators')
      .values(row)
      .onConflict((oc) => oc.columns(['network_id', 'user_id', 'device_id']).doUpdateSet(update).where('coordinators.announced_at', '<=', h.ts))
      .execute();
    return { ok: true, expiresAt };
  }

  /**
   * online: some device of userId announced and has not expired. lastCoordinators: the coordinators
   * its latest announce named, else the network's live coordinators (most recent first).
   */
  async peer(networkId: string, userId: string, now: number): Promise<PeerResponse> {
    const rows = await this.db
      .selectFrom('peers')
      .selectAll()
      .where('network_id', '=', networkId)
      .where('user_id', '=', userId)
      .orderBy('last_seen', 'desc')
      .orderBy('device_id')
      .execute();
    const latest = rows[0];
    const online = rows.filter((r) => r.expires_at > now);
    const best = online[0];
    let coordinators: string[] = latest ? (JSON.parse(latest.coordinators) as string[]) : [];
    if (coordinators.length === 0) {
      const live = await this.db
        .selectFrom('coordinators')
        .select('user_id')
        .where('network_id', '=', networkId)
        .where('expires_at', '>', now)
        .where('user_id', '!=', userId)
        .orderBy('last_seen', 'desc')
        .orderBy('user_id')
        .limit(this.caps.coordinatorsListed * 4)
        .execute();
      coordinators = [...new Set(live.map((c) => c.user_id))];
    }
    const response: PeerResponse = {
      online: best !== undefined,
      lastSeen: latest ? new Date(latest.last_seen).toISOString() : null,
      lastCoordinators: coordinators.slice(0, this.caps.coordinatorsListed),
    };
    if (best?.signal_addr) response.signalAddr = best.signal_addr;
    const addrs = best ? (JSON.parse(best.signal_addrs) as string[]) : [];
    if (addrs.length > 1) response.signalAddrs = addrs;
    return response;
  }

  async activePeers(networkId: string, now: number): Promise<ActivePeer[]> {
    const rows = await this.db
      .selectFrom('peers')
      .selectAll()
      .where('network_id', '=', networkId)
      .where('expires_at', '>', now)
      .orderBy('last_seen', 'desc')
      .orderBy('user_id')
      .orderBy('device_id')
      .limit(this.caps.activePeersListed)
      .execute();
    return rows.map((r) => ({
      userId: r.user_id,
      deviceId: r.device_id,
      signalAddr: r.signal_addr,
      canRelay: r.can_relay === 1,
      coordinator: r.coordinator === 1,
      lastSeen: new Date(r.last_seen).toISOString(),
    }));
  }

  /** Makes room in a full network by forgetting the device that has been offline longest. */
  private async evictOldestOffline(networkId: string, now: number): Promise<boolean> {
    const oldest = await this.db
      .selectFrom('peers')
      .select(['user_id', 'device_id'])
      .where('network_id', '=', networkId)
      .where('expires_at', '<=', now)
      .orderBy('expires_at')
      .limit(1)
      .executeTakeFirst();
    if (!oldest) return false;
    await this.db
      .deleteFrom('peers')
      .where('network_id', '=', networkId)
      .where('user_id', '=', oldest.user_id)
      .where('device_id', '=', oldest.device_id)
      .execute();
    return true;
  }

  /** Deletes expired challenges and tokens, and peers/coordinators not seen for `keepOfflineMs`. */
  async purgeExpired(now: number, keepOfflineMs = 30 * 24 * 3600_000): Promise<void> {
    await this.db.deleteFrom('auth_challenges').where('expires_at', '<=', now).execute();
    await this.db.deleteFrom('auth_tokens').where('expires_at', '<=', now).execute();
    await this.db.deleteFrom('peers').where('expires_at', '<=', now - keepOfflineMs).execute();
    await this.db.deleteFrom('coordinators').where('expires_at', '<=', now - keepOfflineMs).execute();
  }
}
