import { migration0001 } from './0001-initial';
import { migration0002 } from './0002-message-reply-to';
import { migration0003 } from './0003-file-transfers';
import { migration0004 } from './0004-message-stored';
import { migration0005 } from './0005-held-messages';
import { migration0006 } from './0006-file-thumbnails';
import { migration0007 } from './0007-contact-keys';
import type { Migration } from './types';

export type { Migration };

/** Every migration, in order. Append only: never edit or renumber one that has shipped. */
export const MIGRATIONS: readonly Migration[] = [migration0001, migration0002, migration0003, migration0004, migration0005, migration0006, migration0007];

export const LATEST_VERSION = MIGRATIONS.length;
