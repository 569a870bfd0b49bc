import { describe, expect, it } from 'vitest';
import { SNAPSHOT_DEFER_FACTOR, snapshotDue } from '../../../src/server/mailbox/snapshot-policy';

describe('mailbox snapshot policy', () => {
  const every = 100;

  it('is never due before the entry threshold or before the log has grown by the last image', () => {
    expect(snapshotDue({ entries: 99, bytes: 1e9, lastImageBytes: 0 }, every, true)).toBe(false);
    expect(snapshotDue({ entries: 1000, bytes: 999, lastImageBytes: 1000 }, every, true)).toBe(false);
  });

  it('takes a due snapshot on an idle tick, not in the middle of a burst', () => {
    const due = { entries: 100, bytes: 1000, lastImageBytes: 1000 };
    expect(snapshotDue(due, every, true)).toBe(true);
    expect(snapshotDue(due, every, false)).toBe(false);
  });

  it('takes it under sustained load once the log is SNAPSHOT_DEFER_FACTOR times the threshold', () => {
    const f = SNAPSHOT_DEFER_FACTOR;
    expect(snapshotDue({ entries: f * every, bytes: f * 1000, lastImageBytes: 1000 }, every, false)).toBe(true);
    expect(snapshotDue({ entries: f * every - 1, bytes: f * 1000, lastImageBytes: 1000 }, every, false)).toBe(false);
    expect(snapshotDue({ entries: f * every, bytes: f * 1000 - 1, lastImageBytes: 1000 }, every, false)).toBe(false);
  });
});
