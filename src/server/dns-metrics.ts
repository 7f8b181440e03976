import client from 'prom-client';
import type { DnsServer } from '../dns/index.js';

/** Exposes the DNS server's counters as beacon_dns_* metrics, read at scrape time. */
export function registerDnsMetrics(registry: client.Registry, dns: DnsServer): void {
  const last = new Map<string, number>();
  const grow = (c: client.Counter<string>, key: string, labels: Record<string, string>, v: number) => {
    const prev = last.get(key) ?? 0;
    if (v > prev) c.inc(labels, v - prev);
    last.set(key, v);
  };
  new client.Counter({
    name: 'beacon_dns_queries_total',
    help: 'DNS messages received, by transport.',
    labelNames: ['transport'] as const,
    registers: [registry],
    collect() {
      const s = dns.stats();
      grow(this, 'udp', { transport: 'udp' }, s.udpQueries);
      grow(this, 'tcp', { transport: 'tcp' }, s.tcpQueries);
    },
  });
  new client.Counter({
    name: 'beacon_dns_responses_total',
    help: 'DNS responses sent, by rcode.',
    labelNames: ['rcode'] as const,
    registers: [registry],
    collect() {
      for (const [rcode, n] of Object.entries(dns.stats().responses)) grow(this, `rc:${rcode}`, { rcode }, n);
    },
  });
  const simple: Array<[string, string, (s: ReturnType<DnsServer['stats']>) => number]> = [
    ['beacon_dns_dropped_total', 'DNS packets dropped unanswered (malformed, oversized, responses).', (s) => s.dropped],
    ['beacon_dns_truncated_total', 'DNS answers sent with the TC bit.', (s) => s.truncated],
    ['beacon_dns_cache_hits_total', 'DNS answers served from the encoded-answer cache.', (s) => s.cacheHits],
    ['beacon_dns_cache_misses_total', 'DNS answers built from the catalog.', (s) => s.cacheMisses],
    ['beacon_dns_forwarded_total', 'Queries forwarded to a recursor.', (s) => s.forwarded],
    ['beacon_dns_forward_failures_total', 'Forwarded queries that failed (answered SERVFAIL).', (s) => s.forwardFailures],
    ['beacon_dns_forward_tcp_retries_total', 'Truncated UDP answers from a recursor asked again over TCP.', (s) => s.forwardTcpRetries],
    [
      'beacon_dns_forward_error_replies_total',
      'Recursor replies with an error rcode, after which the next recursor is asked (as Consul does).',
      (s) => s.forwardErrorReplies,
    ],
    [
      'beacon_dns_rate_limit_dropped_total',
      'UDP answers dropped by response rate limiting (over --dns-rrl-rate for their client prefix).',
      (s) => s.rateLimitDropped,
    ],
    [
      'beacon_dns_rate_limit_slipped_total',
      'UDP answers over the rate sent truncated instead (every --dns-rrl-slip-th), so real clients retry over TCP.',
      (s) => s.rateLimitSlipped,
    ],
  ];
  for (const [name, help, pick] of simple) {
    new client.Counter({
      name,
      help,
      registers: [registry],
      collect() {
        grow(this, name, {}, pick(dns.stats()));
      },
    });
  }
  new client.Counter({
    name: 'beacon_dns_tcp_refused_total',
    help: 'DNS TCP connections closed at once: all connections taken (total) or the client holds its share (per_client).',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      const s = dns.stats();
      grow(this, 'tcp-total', { reason: 'total' }, s.tcpRejected);
      grow(this, 'tcp-client', { reason: 'per_client' }, s.tcpRejectedPerClient);
    },
  });
  new client.Gauge({
    name: 'beacon_dns_rate_limit_prefixes',
    help: 'Client prefixes DNS response rate limiting tracks now.',
    registers: [registry],
    collect() {
      this.set(dns.stats().rateLimitPrefixes);
    },
  });
  new client.Gauge({
    name: 'beacon_dns_tcp_connections',
    help: 'Open DNS TCP connections.',
    registers: [registry],
    collect() {
      this.set(dns.stats().tcpConnections);
    },
  });
}
