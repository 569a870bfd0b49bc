import type BetterSqlite3 from 'better-sqlite3';
import type { Coordinator, Store } from './types';

interface Row {
  user_id: string;
  can_store: number;
  last_seen: number;
}

function toCoordinator(row: Row): Coordinator {
  return { userId: row.user_id, canStore: row.can_store === 1, lastSeen: row.last_seen };
}

type CoordinatorQueries = Pick<Store, 'upsertCoordinator' | 'listCoordinators'>;

export function createCoordinatorQueries(db: BetterSqlite3.Database): CoordinatorQueries {
  const upsert = db.prepare<[string, number, number]>(`
    INSERT INTO coordinators (user_id, can_store, last_seen) VALUES (?, ?, ?)
    ON CONFLICT (user_id) DO UPDATE SET can_store = excluded.can_store, last_seen = excluded.last_seen`);
  const selectAll = db.prepare<[], Row>('SELECT user_id, can_store, last_seen FROM coordinators ORDER BY last_seen DESC, user_id');
  const selectStoring = db.prepare<[], Row>(
    'SELECT user_id, can_store, last_seen FROM coordinators WHERE can_store = 1 ORDER BY last_seen DESC, user_id',
  );

  return {
    upsertCoordinator(c) {
      upsert.run(c.userId, c.canStore ? 1 : 0, c.lastSeen);
    },
    listCoordinators(options = {}) {
      return (options.canStoreOnly ? selectStoring : selectAll).all().map(toCoordinator);
    },
  };
}
