/**
 * PEER_FOUND answers that led nowhere (DESIGN section 6: failed routes age out). An answer is
 * hearsay from one peer: if the route it named failed, neither that address nor that peer's word
 * about the same person is taken again for DISTRUST_MS, so a peer that lies (or is stale) cannot
 * keep the chain from reaching the registry. The registry's own answers are signed announces and
 * are not affected. Capped: MAX_TARGETS people, MAX_PER_TARGET entries each.
 */
import type { RouteHint } from '../../../shared/discovery';

export const DISTRUST_MS = 2 * 60_000;
const MAX_TARGETS = 1024;
const MAX_PER_TARGET = 16;

export class FailedHearsay {
  private readonly byTarget = new Map<string, Map<string, number>>();

  constructor(private readonly now: () => number = Date.now) {}

  failed(target: string, route: RouteHint): void {
    let entries = this.byTarget.get(target);
    if (!entries) {
      if (this.byTarget.size >= MAX_TARGETS) this.byTarget.delete(this.byTarget.keys().next().value as string);
      entries = new Map();
      this.byTarget.set(target, entries);
    }
    const at = this.now();
    for (const key of [route.signalAddr !== null ? `addr ${route.signalAddr}` : null, route.via ? `via ${route.via}` : null]) {
      if (key === null) continue;
      entries.delete(key);
      entries.set(key, at);
      if (entries.size > MAX_PER_TARGET) entries.delete(entries.keys().next().value as string);
    }
  }

  distrusted(target: string, addr: string, from: string): boolean {
    const entries = this.byTarget.get(target);
    if (!entries) return false;
    const cutoff = this.now() - DISTRUST_MS;
    return [`addr ${addr}`, `via ${from}`].some((key) => (entries.get(key) ?? -Infinity) > cutoff);
  }
}
