import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerScrapeMetric, RequestCounter, RequestHistogram } from './request-metrics.js';

const BUCKETS = [0.0005, 0.001, 0.01, 0.5, 5];

describe('request metrics', () => {
  it("scrape exactly as prom-client's own counter and histogram would, for the same observations", async () => {
    const theirs = new client.Registry();
    const c1 = new client.Counter({ name: 'x_requests_total', help: 'h', labelNames: ['route', 'method', 'code'] as const, registers: [theirs] });
    const h1 = new client.Histogram({ name: 'x_duration_seconds', help: 'd', labelNames: ['route', 'method'] as const, buckets: BUCKETS, registers: [theirs] });
    const ours = new client.Registry();
    const c2 = new RequestCounter('x_requests_total', 'h');
    const h2 = new RequestHistogram('x_duration_seconds', 'd', BUCKETS);
    registerScrapeMetric(ours, c2);
    registerScrapeMetric(ours, h2);

    const seen: [string, string, string, number][] = [
      ['/v1/a', 'GET', '200', 0.0001],
      ['/v1/a', 'GET', '200', 0.0005],
      ['/v1/a', 'GET', '404', 0.002],
      ['/v1/b/*', 'PUT', '200', 0.7],
      ['/v1/b/*', 'PUT', '500', 9],
      ['/v1/a', 'GET', '200', 0.01],
    ];
    const bound = c2.labels('/v1/a', 'GET', '200');
    for (const [route, method, code, secs] of seen) {
      c1.labels(route, method, code).inc();
      h1.labels(route, method).observe(secs);
      if (route === '/v1/a' && code === '200') bound.inc();
      else c2.labels(route, method, code).inc();
      h2.labels(route, method).observe(secs);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('a series found once and kept counts every bump', async () => {
    const c = new RequestCounter('y_total', 'h');
    const s = c.labels('r', 'GET', '200');
    for (let i = 0; i < 1000; i++) s.inc();
    c.labels('r', 'GET', '200').inc();
    expect((await c.get()).values).toEqual([{ labels: { route: 'r', method: 'GET', code: '200' }, value: 1001 }]);
  });
});
