import { migration0001 } from './0001-initial';
import { migration0002 } from './0002-message-reply-to';
import type { Migration } from './types';

export type { Migration };

/** Every migration, in order. Append only: never edit or renumber one that has shipped. */
export const MIGRATIONS: readonly Migration[] = [migration0001, migration0002];

export const LATEST_VERSION = MIGRATIONS.length;
