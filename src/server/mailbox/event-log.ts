// Append-only JSON-lines record of a node's term/role/leader transitions, so tests can check
// "at most one leader per term" across all nodes after the fact.
import { appendFileSync } from 'node:fs';

export interface NodeEvent {
  ts: number;
  node: string;
  term: number;
  role: string;
  leader: string | null;
  /** `refused`: a trust-boundary refusal (at most one line per code every few seconds; STATS counts all) */
  event: 'start' | 'role' | 'stop' | 'recovering' | 'member' | 'refused';
  detail?: string;
}

export class EventLog {
  private last = '';

  constructor(private readonly file: string, private readonly node: string) {}

  record(e: Omit<NodeEvent, 'ts' | 'node'>): void {
    const key = `${e.event}|${e.term}|${e.role}|${e.leader ?? ''}|${e.detail ?? ''}`;
    if (key === this.last) return;
    this.last = key;
    // Synchronous on purpose: a kill -9 right after must not lose the line.
    appendFileSync(this.file, JSON.stringify({ ts: Date.now(), node: this.node, ...e }) + '\n');
  }
}
