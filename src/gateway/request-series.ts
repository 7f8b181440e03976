/**
 * Per-request metrics at the cost of one Map look-up: each (route, service, instance) triple is
 * one plain object holding its counts per status code and its latency buckets, bumped in place;
 * prom-client reads them only on a scrape (prom-client's own labelled metrics hash the labels on
 * every inc() and observe(), a visible share of a proxied request's CPU).
 */
import type client from 'prom-client';

interface Series {
  readonly labels: { route: string; service: string; instance: string };
  readonly codes: Map<number, number>;
  /** Counts per bucket (not cumulative), the last one for +Inf. */
  readonly counts: number[];
  sum: number;
  count: number;
}

type Sample = { labels: Record<string, string | number>; value: number; metricName?: string };

/** The series behind `beacon_gateway_requests_total` and `beacon_gateway_request_duration_seconds`. */
export class RequestSeries {
  readonly #series = new Map<string, Series>();
  readonly #buckets: readonly number[];

  constructor(buckets: readonly number[]) {
    this.#buckets = buckets;
  }

  record(route: string, service: string, instance: string, code: number, seconds: number): void {
    const key = `${route}\u0000${service}\u0000${instance}`;
    let s = this.#series.get(key);
    if (!s) {
      s = { labels: { route, service, instance }, codes: new Map(), counts: new Array<number>(this.#buckets.length + 1).fill(0), sum: 0, count: 0 };
      this.#series.set(key, s);
    }
    s.codes.set(code, (s.codes.get(code) ?? 0) + 1);
    const b = this.#buckets;
    let i = 0;
    while (i < b.length && seconds > b[i]) i++;
    s.counts[i]++;
    s.sum += seconds;
    s.count++;
  }

  /** Registers the counter and the histogram views on `registry`. */
  register(registry: client.Registry, counter: { name: string; help: string }, histogram: { name: string; help: string }): void {
    const counterMetric = {
      ...counter,
      get: () => {
        const values: Sample[] = [];
        for (const s of this.#series.values()) for (const [code, n] of s.codes) values.push({ labels: { ...s.labels, code: String(code) }, value: n });
        return Promise.resolve({ name: counter.name, help: counter.help, type: 'counter', aggregator: 'sum', values });
      },
    };
    const histogramMetric = {
      ...histogram,
      get: () => {
        const values: Sample[] = [];
        const bucket = `${histogram.name}_bucket`;
        for (const s of this.#series.values()) {
          let cumulative = 0;
          this.#buckets.forEach((le, i) => {
            cumulative += s.counts[i];
            values.push({ labels: { le, ...s.labels }, value: cumulative, metricName: bucket });
          });
          values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: bucket });
          values.push({ labels: s.labels, value: s.sum, metricName: `${histogram.name}_sum` });
          values.push({ labels: s.labels, value: s.count, metricName: `${histogram.name}_count` });
        }
        return Promise.resolve({ name: histogram.name, help: histogram.help, type: 'histogram', aggregator: 'sum', values });
      },
    };
    registry.registerMetric(counterMetric as unknown as client.Metric);
    registry.registerMetric(histogramMetric as unknown as client.Metric);
  }
}
