import type BetterSqlite3 from 'better-sqlite3';

export interface Migration {
  /** Becomes PRAGMA user_version once applied; migrations are numbered 1, 2, 3… without gaps. */
  version: number;
  name: string;
  up(db: BetterSqlite3.Database): void;
}
