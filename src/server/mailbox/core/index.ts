export * from './types';
export { RaftNode } from './node';
export { RaftLog } from './log';
export { applyConfChange, decodeConfigEntry, encodeConfigEntry, quorum, type Membership } from './config';
