/**
 * Request counts and latencies, cheap per request. prom-client's labelled metrics hash the
 * label values on every `inc()` and `observe()`, even through a bound child; on a heartbeat or
 * a cached read that was a sizeable part of the CPU. Here each (route, method, code) and
 * (route, method) series is a plain object found once and then bumped in place; the registry
 * reads them only when /metrics is scraped, in prom-client's exposition format.
 */
import type client from 'prom-client';

interface CounterSeries {
  labels: { route: string; method: string; code: string };
  value: number;
}

interface HistogramSeries {
  labels: { route: string; method: string };
  /** Counts per bucket (not cumulative), plus one for +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

/** A metric the registry can read: its `get()` gives the lines of one scrape. */
interface ScrapeMetric {
  name: string;
  help: string;
  get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: { labels: Record<string, string | number>; value: number; metricName?: string }[];
  }>;
}

/** Requests answered, by route pattern, method and status code. */
export class RequestCounter implements ScrapeMetric {
  private readonly series = new Map<string, CounterSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** The series of these labels, to bump with `inc()`; bind it once and keep it. */
  labels(route: string, method: string, code: string): { inc(): void } {
    const key = `${route}\u0000${method}\u0000${code}`;
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { labels: { route, method, code }, value: 0 }));
    const series = s;
    return {
      inc: () => {
        series.value++;
      },
    };
  }

  get() {
    const values = [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value }));
    return Promise.resolve({ name: this.name, help: this.help, type: 'counter', aggregator: 'sum', values });
  }
}

/** Request latency by route pattern and method, in fixed buckets (seconds). */
export class RequestHistogram implements ScrapeMetric {
  private readonly series = new Map<string, HistogramSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
  ) {}

  labels(route: string, method: string): { observe(seconds: number): void } {
    const key = `${route}\u0000${method}`;
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { labels: { route, method }, counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 }));
    const series = s;
    const bounds = this.buckets;
    return {
      observe: (v: number) => {
        let i = 0;
        while (i < bounds.length && v > bounds[i]) i++;
        series.counts[i]++;
        series.sum += v;
        series.count++;
      },
    };
  }

  get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i];
        values.push({ labels: { le, ...s.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values });
  }
}

/** Adds a metric of this module to a prom-client registry. */
export function registerScrapeMetric(registry: client.Registry, metric: ScrapeMetric): void {
  registry.registerMetric(metric as unknown as client.Metric);
}
