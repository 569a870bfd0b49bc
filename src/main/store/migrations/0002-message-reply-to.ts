import type { Migration } from './types';

/** CHAT_MESSAGE carries an optional replyTo (the id of the quoted message). */
export const migration0002: Migration = {
  version: 2,
  name: 'message-reply-to',
  up(db) {
    // No REFERENCES: the quoted message may be one this device never received.
    db.exec('ALTER TABLE messages ADD COLUMN reply_to TEXT');
  },
};
