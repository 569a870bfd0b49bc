import type { Migration } from './types';

/**
 * An image's thumbnail with its transfer: the sender's, to repeat the offer after a reconnect or
 * restart; the receiver's, checked by its bytes, to show before and after accepting.
 */
export const migration0006: Migration = {
  version: 6,
  name: 'file-thumbnails',
  up(db) {
    db.exec('ALTER TABLE file_transfers ADD COLUMN thumb BLOB');
  },
};
