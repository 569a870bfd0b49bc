// Per-code counters of rejected wire input, exposed through the STATS operation.
export class RejectCounter {
  private readonly counts = new Map<string, number>();
  total = 0;

  count(code: string): void {
    this.total++;
    this.counts.set(code, (this.counts.get(code) ?? 0) + 1);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
