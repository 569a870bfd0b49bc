import type BetterSqlite3 from 'better-sqlite3';
import type { PeerRoute, Store } from './types';
import { readRoutePath } from './values';

interface Row {
  user_id: string;
  path: string;
  signal_addr: string | null;
  via: string | null;
  last_ok: number | null;
  last_fail: number | null;
  fail_count: number;
}

const COLUMNS = 'user_id, path, signal_addr, via, last_ok, last_fail, fail_count';

function toRoute(row: Row): PeerRoute {
  return {
    userId: row.user_id,
    path: readRoutePath(row.path),
    signalAddr: row.signal_addr,
    via: row.via,
    lastOk: row.last_ok,
    lastFail: row.last_fail,
    failCount: row.fail_count,
  };
}

type RouteQueries = Pick<Store, 'recordRouteSuccess' | 'recordRouteFailure' | 'getRoutes' | 'pruneRoutes'>;

export function createRouteQueries(db: BetterSqlite3.Database, now: () => number): RouteQueries {
  // Details left undefined keep their stored values; null clears them.
  const success = db.prepare<{
    userId: string; path: string; signalAddr: string | null; keepSignalAddr: 0 | 1;
    via: string | null; keepVia: 0 | 1; at: number;
  }>(`
    INSERT INTO peer_routes (user_id, path, signal_addr, via, last_ok, fail_count)
    VALUES (@userId, @path, @signalAddr, @via, @at, 0)
    ON CONFLICT (user_id, path) DO UPDATE SET
      signal_addr = CASE WHEN @keepSignalAddr THEN signal_addr ELSE excluded.signal_addr END,
      via = CASE WHEN @keepVia THEN via ELSE excluded.via END,
      last_ok = excluded.last_ok,
      fail_count = 0`);
  const failure = db.prepare<[string, string, number]>(`
    INSERT INTO peer_routes (user_id, path, last_fail, fail_count) VALUES (?, ?, ?, 1)
    ON CONFLICT (user_id, path) DO UPDATE SET last_fail = excluded.last_fail, fail_count = fail_count + 1`);
  const select = db.prepare<[string], Row>(
    `SELECT ${COLUMNS} FROM peer_routes WHERE user_id = ?
     ORDER BY last_ok IS NULL, last_ok DESC, fail_count, path`,
  );
  const prune = db.prepare<[number]>('DELETE FROM peer_routes WHERE last_ok IS NULL OR last_ok < ?');

  return {
    recordRouteSuccess(userId, path, details = {}, at = now()) {
      success.run({
        userId, path, at,
        signalAddr: details.signalAddr ?? null,
        keepSignalAddr: details.signalAddr === undefined ? 1 : 0,
        via: details.via ?? null,
        keepVia: details.via === undefined ? 1 : 0,
      });
    },
    recordRouteFailure(userId, path, at = now()) {
      failure.run(userId, path, at);
    },
    getRoutes(userId) {
      return select.all(userId).map(toRoute);
    },
    pruneRoutes(olderThan) {
      return prune.run(olderThan).changes;
    },
  };
}
