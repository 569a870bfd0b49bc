// Timing profiles of a mailbox node, in ticks of `tickMs`.
export type ProfileName = 'fast' | 'spec';

export interface TimingProfile {
  tickMs: number;
  heartbeatTicks: number;
  electionTicks: [number, number];
  /** how long a client operation may wait for commit/confirmation before TIMEOUT */
  opTimeoutMs: number;
}

export const PROFILES: Record<ProfileName, TimingProfile> = {
  // DESIGN section 9 default: heartbeat 100 ms, election timeout 600–1200 ms.
  fast: { tickMs: 50, heartbeatTicks: 2, electionTicks: [12, 24], opTimeoutMs: 5_000 },
  // Seed 001: heartbeat every 5 s, 15 s election timeout (randomized up to 30 s).
  spec: { tickMs: 250, heartbeatTicks: 20, electionTicks: [60, 120], opTimeoutMs: 40_000 },
};
