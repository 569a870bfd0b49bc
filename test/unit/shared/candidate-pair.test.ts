import { describe, expect, it } from 'vitest';
import { describeCandidatePair, selectedCandidatePair, zCandidatePair } from '../../../src/shared/candidate-pair';

const report = (stats: object[]) => new Map(stats.map((s, i) => [String((s as { id?: string }).id ?? i), s]));

// Shapes as @roamhq/wrtc and Chromium report them (trimmed to the fields read).
const local = { id: 'L1', type: 'local-candidate', candidateType: 'relay', protocol: 'udp', relayProtocol: 'tcp', address: '198.18.0.1', port: 49170 };
const remote = { id: 'R1', type: 'remote-candidate', candidateType: 'prflx', protocol: 'udp', ip: '', port: 4000 };
const other = { id: 'L2', type: 'local-candidate', candidateType: 'host', protocol: 'udp', address: '10.99.2.2', port: 5000 };

describe('selected candidate pair from getStats()', () => {
  it('follows transport.selectedCandidatePairId even when the pair still says in-progress (Chromium)', () => {
    const pair = selectedCandidatePair(report([
      local, remote, other,
      { id: 'P0', type: 'candidate-pair', localCandidateId: 'L2', remoteCandidateId: 'R1', state: 'succeeded', nominated: true },
      { id: 'P1', type: 'candidate-pair', localCandidateId: 'L1', remoteCandidateId: 'R1', state: 'in-progress', nominated: false },
      { id: 'T', type: 'transport', selectedCandidatePairId: 'P1' },
    ]));
    expect(pair).toEqual({ local: { type: 'relay', protocol: 'udp', relayProtocol: 'tcp', address: '198.18.0.1', port: 49170 }, remote: { type: 'prflx', protocol: 'udp', port: 4000 } });
    expect(describeCandidatePair(pair!)).toBe('relay udp 198.18.0.1:49170 (TURN over tcp) ↔ prflx udp');
    expect(zCandidatePair.safeParse(pair).success).toBe(true);
  });

  it('without a transport report: a pair flagged selected, else nominated and succeeded', () => {
    expect(selectedCandidatePair(report([local, remote, other,
      { id: 'P0', type: 'candidate-pair', localCandidateId: 'L2', remoteCandidateId: 'R1', state: 'succeeded', nominated: true },
      { id: 'P1', type: 'candidate-pair', localCandidateId: 'L1', remoteCandidateId: 'R1', selected: true },
    ]))?.local.type).toBe('relay');
    expect(selectedCandidatePair(report([local, remote, other,
      { id: 'P0', type: 'candidate-pair', localCandidateId: 'L2', remoteCandidateId: 'R1', state: 'succeeded', nominated: true },
    ]))?.local.type).toBe('host');
  });

  it('nothing selected yet, a dangling id or an unknown candidate type: null', () => {
    expect(selectedCandidatePair(report([local, remote, { id: 'P', type: 'candidate-pair', localCandidateId: 'L1', remoteCandidateId: 'R1', state: 'waiting' }]))).toBeNull();
    expect(selectedCandidatePair(report([local, { id: 'T', type: 'transport', selectedCandidatePairId: 'nope' }]))).toBeNull();
    expect(selectedCandidatePair(report([{ ...local, candidateType: 'weird' }, remote,
      { id: 'P', type: 'candidate-pair', localCandidateId: 'L1', remoteCandidateId: 'R1', selected: true }]))).toBeNull();
  });

  it('the host refuses a renderer report that is not a small pair', () => {
    expect(zCandidatePair.safeParse({ local: { type: 'relay', protocol: 'udp' }, remote: { type: 'host', protocol: 'sctp' } }).success).toBe(false);
    expect(zCandidatePair.safeParse({ local: { type: 'host', protocol: 'udp', address: 'x'.repeat(65) }, remote: { type: 'host', protocol: 'udp' } }).success).toBe(false);
    expect(zCandidatePair.safeParse({ local: { type: 'host', protocol: 'udp', extra: 1 }, remote: { type: 'host', protocol: 'udp' } }).success).toBe(false);
  });
});
