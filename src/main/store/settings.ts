import type BetterSqlite3 from 'better-sqlite3';
import type { Store } from './types';

type SettingsQueries = Pick<Store, 'getSetting' | 'setSetting' | 'deleteSetting'>;

export function createSettingsQueries(db: BetterSqlite3.Database): SettingsQueries {
  const select = db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?');
  const upsert = db.prepare<[string, string]>(
    'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  const remove = db.prepare<[string]>('DELETE FROM settings WHERE key = ?');

  return {
    getSetting<T = unknown>(key: string, parse?: (value: unknown) => T): T | undefined {
      const row = select.get(key);
      if (!row) return undefined;
      const value: unknown = JSON.parse(row.value);
      // Without a parser the value is trusted: only host code writes settings.
      return parse ? parse(value) : (value as T);
    },
    setSetting(key, value) {
      const json = JSON.stringify(value);
      if (json === undefined) throw new TypeError(`setting ${key}: value is not JSON-serialisable`);
      upsert.run(key, json);
    },
    deleteSetting(key) {
      remove.run(key);
    },
  };
}
