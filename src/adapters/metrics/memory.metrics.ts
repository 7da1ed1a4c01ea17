import type { MetricName, Metrics } from '../../application/ports/runtime.port.js';

/** Counters in memory (the embedded default); the Lambda wiring emits CloudWatch EMF instead. */
export class MemoryMetrics implements Metrics {
  private readonly counters = new Map<MetricName, number>();

  increment(name: MetricName, value = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + value);
  }

  get(name: MetricName): number {
    return this.counters.get(name) ?? 0;
  }

  snapshot(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.counters);
  }
}
