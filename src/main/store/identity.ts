import type BetterSqlite3 from 'better-sqlite3';
import type { IdentityRow, Store } from './types';

interface Row {
  user_id: string;
  device_id: string;
  display_name: string;
  created_at: number;
}

type IdentityQueries = Pick<Store, 'getIdentityRow' | 'saveIdentityRow'>;

export function createIdentityQueries(db: BetterSqlite3.Database): IdentityQueries {
  const select = db.prepare<[], Row>('SELECT user_id, device_id, display_name, created_at FROM identity WHERE id = 1');
  const upsert = db.prepare<[Row]>(`
    INSERT INTO identity (id, user_id, device_id, display_name, created_at)
    VALUES (1, @user_id, @device_id, @display_name, @created_at)
    ON CONFLICT (id) DO UPDATE SET
      user_id = excluded.user_id, device_id = excluded.device_id,
      display_name = excluded.display_name, created_at = excluded.created_at`);

  return {
    getIdentityRow(): IdentityRow | undefined {
      const row = select.get();
      return row && { userId: row.user_id, deviceId: row.device_id, displayName: row.display_name, createdAt: row.created_at };
    },
    saveIdentityRow(r) {
      upsert.run({ user_id: r.userId, device_id: r.deviceId, display_name: r.displayName, created_at: r.createdAt });
    },
  };
}
