/** What a benchmark reads about another process from /proc (Linux): CPU time used so far. */
import { readFileSync } from 'node:fs';

/** CPU seconds (user + system) the process has used so far; NaN if it can't be read. */
export function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}
