// The benchmark's loss check must actually catch losses: feed it read-backs with a missing,
// altered, duplicated or misplaced append and expect each to be reported.
import { describe, expect, it } from 'vitest';
import { AckLedger, counterOf, lossFree, makePayloadFactory } from '../../../bench/mailbox/ledger';

function ledgerWithAcks(count: number, size = 64): { ledger: AckLedger; stored: { seq: number; data: Uint8Array }[] } {
  const payload = makePayloadFactory(size);
  const ledger = new AckLedger();
  const stored = [];
  for (let i = 0; i < count; i++) {
    const counter = ledger.next(size);
    const seq = i + 1;
    ledger.acknowledge(seq, counter);
    stored.push({ seq, data: payload(counter) });
  }
  return { ledger, stored };
}

describe('benchmark ack ledger', () => {
  it('builds payloads of the exact size that carry their counter', () => {
    const payload = makePayloadFactory(256);
    const data = payload(12345);
    expect(data.length).toBe(256);
    expect(counterOf(data)).toBe(12345);
    expect(counterOf(new TextEncoder().encode('not ours'))).toBeUndefined();
  });

  it('accepts a complete, intact read-back', () => {
    const { ledger, stored } = ledgerWithAcks(50);
    const report = ledger.verify(stored);
    expect(lossFree(report)).toBe(true);
    expect(report.acknowledged).toBe(50);
    expect(report.stored).toBe(50);
  });

  it('reports an acknowledged append missing from the queue', () => {
    const { ledger, stored } = ledgerWithAcks(50);
    const report = ledger.verify(stored.filter((m) => m.seq !== 17));
    expect(report.lost).toBe(1);
    expect(lossFree(report)).toBe(false);
  });

  it('reports altered bytes', () => {
    const { ledger, stored } = ledgerWithAcks(10);
    const victim = stored[3];
    if (!victim) throw new Error('fixture');
    const altered = new Uint8Array(victim.data);
    altered[altered.length - 1] = 0x21;
    stored[3] = { seq: victim.seq, data: altered };
    const report = ledger.verify(stored);
    expect(report.corrupted).toBe(1);
    expect(report.lost).toBe(1);
  });

  it('reports the same append stored twice and two appends acknowledged at one seq', () => {
    const { ledger, stored } = ledgerWithAcks(10);
    const first = stored[0];
    if (!first) throw new Error('fixture');
    const report = ledger.verify([...stored, { seq: 11, data: first.data }]);
    expect(report.duplicates).toBe(1);

    const counter = ledger.next(64);
    ledger.acknowledge(5, counter);
    expect(ledger.verify(stored).conflictingAcks).toBe(1);
  });

  it('reports appends swapped between seqs', () => {
    const { ledger, stored } = ledgerWithAcks(10);
    const a = stored[2];
    const b = stored[6];
    if (!a || !b) throw new Error('fixture');
    stored[2] = { seq: a.seq, data: b.data };
    stored[6] = { seq: b.seq, data: a.data };
    expect(ledger.verify(stored).lost).toBe(2);
  });

  it('counts stored appends that were never acknowledged without calling them lost', () => {
    const { ledger, stored } = ledgerWithAcks(5);
    const payload = makePayloadFactory(64);
    const timedOut = ledger.next(64);
    const report = ledger.verify([...stored, { seq: 6, data: payload(timedOut) }]);
    expect(report.unacknowledgedButStored).toBe(1);
    expect(lossFree(report)).toBe(true);
  });
});
