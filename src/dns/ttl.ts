/**
 * TTL of a service's answers: an exact override, else the longest matching "prefix*"
 * override, else the default (config `serviceTtl`, flag `--dns-service-ttl "5s,web=10s,api*=1s"`).
 */
import type { DnsConfig } from '../config/index.js';

/** Returns a lookup from service name to TTL in seconds. */
export function serviceTtlLookup(cfg: DnsConfig['serviceTtl']): (service: string) => number {
  const exact = new Map<string, number>();
  const prefixes: { prefix: string; ttl: number }[] = [];
  let dflt = cfg.default;
  for (const [k, v] of Object.entries(cfg.overrides)) {
    if (k === '*') dflt = v;
    else if (k.endsWith('*')) prefixes.push({ prefix: k.slice(0, -1).toLowerCase(), ttl: v });
    else exact.set(k.toLowerCase(), v);
  }
  prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
  return (service) => {
    const s = service.toLowerCase();
    const e = exact.get(s);
    if (e !== undefined) return e;
    for (const p of prefixes) if (s.startsWith(p.prefix)) return p.ttl;
    return dflt;
  };
}
