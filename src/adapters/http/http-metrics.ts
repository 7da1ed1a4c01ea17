// Request counts by route and status and a latency histogram, kept per app, rendered with the core
// counters in the Prometheus text exposition format (version 0.0.4). Labels are route patterns,
// never ids or tenants, so the series stay few and carry nothing personal.

const BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

type Histogram = { readonly counts: number[]; sum: number; count: number };

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const metricName = (n: string): string => n.replace(/[^a-zA-Z0-9_:]/g, '_');

export class HttpMetrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method}\u0000${route}\u0000${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const hKey = `${method}\u0000${route}`;
    let h = this.latency.get(hKey);
    if (!h) {
      h = { counts: BUCKETS_SECONDS.map(() => 0), sum: 0, count: 0 };
      this.latency.set(hKey, h);
    }
    BUCKETS_SECONDS.forEach((le, i) => {
      if (seconds <= le) h.counts[i]! += 1;
    });
    h.sum += seconds;
    h.count += 1;
  }

  render(core: Readonly<Record<string, number>>): string {
    const out: string[] = [];
    for (const [name, value] of Object.entries(core).sort(([a], [b]) => a.localeCompare(b))) {
      const n = `c360_${metricName(name)}_total`;
      out.push(`# HELP ${n} core counter ${name}`, `# TYPE ${n} counter`, `${n} ${value}`);
    }
    out.push('# HELP c360_http_requests_total HTTP requests by method, route pattern and status', '# TYPE c360_http_requests_total counter');
    for (const [key, value] of this.requests) {
      const [method, route, status] = key.split('\u0000') as [string, string, string];
      out.push(`c360_http_requests_total{method="${method}",route="${escapeLabel(route)}",status="${status}"} ${value}`);
    }
    out.push(
      '# HELP c360_http_request_duration_seconds HTTP request latency by method and route pattern',
      '# TYPE c360_http_request_duration_seconds histogram',
    );
    for (const [key, h] of this.latency) {
      const [method, route] = key.split('\u0000') as [string, string];
      const labels = `method="${method}",route="${escapeLabel(route)}"`;
      BUCKETS_SECONDS.forEach((le, i) => out.push(`c360_http_request_duration_seconds_bucket{${labels},le="${le}"} ${h.counts[i]}`));
      out.push(`c360_http_request_duration_seconds_bucket{${labels},le="+Inf"} ${h.count}`);
      out.push(`c360_http_request_duration_seconds_sum{${labels}} ${h.sum}`);
      out.push(`c360_http_request_duration_seconds_count{${labels}} ${h.count}`);
    }
    return `${out.join('\n')}\n`;
  }
}
