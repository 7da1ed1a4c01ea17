import { MetricUnit, Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import type { MetricName, Metrics } from '../../application/ports/runtime.port.js';

// The Metrics port in CloudWatch Embedded Metric Format: counts are summed during an invocation
// and written as one EMF document (stdout, picked up by CloudWatch Logs) when the handler flushes.
// Dimensions stay at Powertools' service only: no tenant or customer ids (cardinality, privacy).

export type EmfMetricsOptions = {
  /** CloudWatch namespace; without it Powertools reads POWERTOOLS_METRICS_NAMESPACE */
  readonly namespace?: string | undefined;
  /** the `service` dimension; without it Powertools reads POWERTOOLS_SERVICE_NAME */
  readonly serviceName?: string | undefined;
};

export class EmfMetrics implements Metrics {
  private readonly pending = new Map<string, number>();

  constructor(private readonly emf: PowertoolsMetrics) {}

  static create(options: EmfMetricsOptions = {}): EmfMetrics {
    return new EmfMetrics(new PowertoolsMetrics({ namespace: options.namespace, serviceName: options.serviceName }));
  }

  /** the port's counters, plus the Lambda adapters' own (records received, failed, ...) */
  increment(name: MetricName | (string & {}), value = 1): void {
    if (value === 0 || !Number.isFinite(value)) return;
    this.pending.set(name, (this.pending.get(name) ?? 0) + value);
  }

  /** Writes what this invocation counted as one EMF document; nothing when nothing was counted. */
  flush(): void {
    if (this.pending.size === 0) return;
    for (const [name, value] of this.pending) this.emf.addMetric(name, MetricUnit.Count, value);
    this.pending.clear();
    this.emf.publishStoredMetrics();
  }
}
