import type { ConfChange, ConfigEntryData, NodeId } from './types';

export interface Membership {
  voters: NodeId[];
  learners: NodeId[];
}

/** votes needed among `voters` */
export function quorum(voters: readonly NodeId[]): number {
  return Math.floor(voters.length / 2) + 1;
}

/**
 * Validate a single-server change against the current membership and compute the result.
 * Returns an error string when the change is not allowed.
 */
export function applyConfChange(m: Membership, cc: ConfChange): Membership | string {
  const isVoter = m.voters.includes(cc.node);
  const isLearner = m.learners.includes(cc.node);
  switch (cc.type) {
    case 'addLearner':
      if (isVoter || isLearner) return `${cc.node} is already a member`;
      return { voters: m.voters.slice(), learners: [...m.learners, cc.node].sort() };
    case 'promoteLearner':
      if (!isLearner) return `${cc.node} is not a learner`;
      return { voters: [...m.voters, cc.node].sort(), learners: m.learners.filter((n) => n !== cc.node) };
    case 'removeNode':
      if (!isVoter && !isLearner) return `${cc.node} is not a member`;
      if (isVoter && m.voters.length === 1) return 'cannot remove the last voter';
      return { voters: m.voters.filter((n) => n !== cc.node), learners: m.learners.filter((n) => n !== cc.node) };
  }
}

export function encodeConfigEntry(change: ConfChange, m: Membership): string {
  const data: ConfigEntryData = { change, voters: m.voters, learners: m.learners };
  return JSON.stringify(data);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** Parse a config entry written by `encodeConfigEntry`; null if malformed. */
export function decodeConfigEntry(data: string): ConfigEntryData | null {
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const change = o['change'] as Record<string, unknown> | undefined;
  if (!isStringArray(o['voters']) || !isStringArray(o['learners'])) return null;
  if (typeof change !== 'object' || change === null || typeof change['node'] !== 'string') return null;
  const type = change['type'];
  if (type !== 'addLearner' && type !== 'promoteLearner' && type !== 'removeNode') return null;
  return { change: { type, node: change['node'] }, voters: o['voters'], learners: o['learners'] };
}
