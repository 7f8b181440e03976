/**
 * What a question name asks for, read from its labels (lower-cased, left to right):
 *
 *   [tag.]<service>.service[.<dc>[.dc]].<domain>
 *   _<service>._<tag|tcp>[.service][.<dc>[.dc]].<domain>      (RFC 2782)
 *   <node>.node[.<dc>[.dc]].<domain>
 *   <hex-ip>.addr[.<dc>[.dc]].<domain>
 *   <domain>                                                 (SOA, NS)
 *   d.c.b.a.in-addr.arpa / <32 nibbles>.ip6.arpa             (PTR)
 */
import { isIPv4, isIPv6 } from 'node:net';

export type NameQuery =
  | { kind: 'apex'; domain: string }
  | { kind: 'service'; domain: string; dc: string | undefined; service: string; tag: string | undefined; rfc2782: boolean }
  | { kind: 'node'; domain: string; dc: string | undefined; node: string }
  | { kind: 'addr'; domain: string; dc: string | undefined; ip: string; family: 4 | 6 }
  /** Inside the domain but not a name Beacon answers (NXDOMAIN). */
  | { kind: 'query'; domain: string; dc: string | undefined; query: string }
  | { kind: 'unknown'; domain: string; dc: string | undefined }
  /** Reverse lookup; `ip` is canonical (see canonicalIp), undefined for a name under arpa that is not a full address. */
  | { kind: 'ptr'; ip: string | undefined }
  /** Outside every domain Beacon serves (REFUSED, or forwarded to a recursor). */
  | { kind: 'outside' };

/** Domain as labels ("consul." -> ["consul"]). */
export function domainLabels(domain: string): string[] {
  return domain.toLowerCase().split('.').filter(Boolean);
}

function endsWith(labels: readonly string[], suffix: readonly string[]): boolean {
  if (suffix.length > labels.length) return false;
  const off = labels.length - suffix.length;
  for (let i = 0; i < suffix.length; i++) if (labels[off + i] !== suffix[i]) return false;
  return true;
}

const KEYWORDS = new Set(['service', 'node', 'addr', 'query', 'connect', 'ingress', 'virtual']);

/**
 * Classifies lower-cased question labels against the served domains (longest match wins).
 *
 * @example
 * classifyName(['web', 'service', 'dc1', 'consul'], [['consul']]) // { kind: 'service', service: 'web', dc: 'dc1', ... }
 */
export function classifyName(labels: readonly string[], domains: readonly (readonly string[])[]): NameQuery {
  let best: readonly string[] | undefined;
  for (const d of domains) if (endsWith(labels, d) && (!best || d.length > best.length)) best = d;
  if (!best) return reverseName(labels) ?? (isReverseZone(labels) ? { kind: 'ptr', ip: undefined } : { kind: 'outside' });
  const domain = `${best.join('.')}.`;
  const rest = labels.slice(0, labels.length - best.length);
  const n = rest.length;
  if (n === 0) return { kind: 'apex', domain };

  // Locate the keyword: last label, or before a datacenter label, or before "<dc>.dc".
  let kw = -1;
  let dc: string | undefined;
  if (KEYWORDS.has(rest[n - 1])) kw = n - 1;
  else if (n >= 2 && KEYWORDS.has(rest[n - 2])) {
    kw = n - 2;
    dc = rest[n - 1];
  } else if (n >= 3 && rest[n - 1] === 'dc' && KEYWORDS.has(rest[n - 3])) {
    kw = n - 3;
    dc = rest[n - 2];
  }

  if (kw < 0) {
    // RFC 2782 without ".service": _svc._tag[.dc]
    if ((n === 2 || n === 3) && isUnderscored(rest[0]) && isUnderscored(rest[1])) {
      return rfc2782(domain, n === 3 ? rest[2] : undefined, rest[0], rest[1]);
    }
    return { kind: 'unknown', domain, dc: undefined };
  }
  const prefix = rest.slice(0, kw);
  switch (rest[kw]) {
    case 'service':
      if (prefix.length === 1) return { kind: 'service', domain, dc, service: prefix[0], tag: undefined, rfc2782: false };
      if (prefix.length === 2) {
        if (isUnderscored(prefix[0]) && isUnderscored(prefix[1])) return rfc2782(domain, dc, prefix[0], prefix[1]);
        return { kind: 'service', domain, dc, service: prefix[1], tag: prefix[0], rfc2782: false };
      }
      break;
    case 'node':
      if (prefix.length === 1) return { kind: 'node', domain, dc, node: prefix[0] };
      break;
    case 'query':
      if (prefix.length === 1) return { kind: 'query', domain, dc, query: prefix[0] };
      break;
    case 'addr': {
      const ip = prefix.length === 1 ? hexToIp(prefix[0]) : undefined;
      if (ip) return { kind: 'addr', domain, dc, ip: ip.ip, family: ip.family };
      break;
    }
  }
  return { kind: 'unknown', domain, dc };
}

const isUnderscored = (l: string): boolean => l.length > 1 && l.startsWith('_');

function rfc2782(domain: string, dc: string | undefined, svc: string, tag: string): NameQuery {
  const t = tag.slice(1);
  return { kind: 'service', domain, dc, service: svc.slice(1), tag: t === 'tcp' ? undefined : t, rfc2782: true };
}

/** "7f000001" -> 127.0.0.1; 32 hex digits -> an IPv6 address. */
export function hexToIp(hex: string): { ip: string; family: 4 | 6 } | undefined {
  if (!/^[0-9a-f]+$/.test(hex)) return undefined;
  if (hex.length === 8) {
    const parts = [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16));
    return { ip: parts.join('.'), family: 4 };
  }
  if (hex.length === 32) {
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4));
    return { ip: canonicalIp(groups.join(':')), family: 6 };
  }
  return undefined;
}

/** An IP address as 8 (IPv4) or 32 (IPv6) lower-case hex digits, for `<hex>.addr` names. */
export function ipToHex(ip: string): string | undefined {
  if (isIPv4(ip))
    return ip
      .split('.')
      .map((p) => Number(p).toString(16).padStart(2, '0'))
      .join('');
  if (isIPv6(ip)) return expandIpv6(ip)?.replace(/:/g, '');
  return undefined;
}

/** The canonical (compressed, lower-case) text of an IP address; IPv4 unchanged. */
export function canonicalIp(ip: string): string {
  if (!isIPv6(ip)) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip.toLowerCase();
  }
}

/** "::1" -> "0000:0000:...:0001"; undefined if not IPv6. */
export function expandIpv6(ip: string): string | undefined {
  if (!isIPv6(ip)) return undefined;
  let s = ip.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const p = v4[1].split('.').map(Number);
    s = s.slice(0, -v4[1].length) + `${((p[0] << 8) | p[1]).toString(16)}:${((p[2] << 8) | p[3]).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? (s.split('::') as [string, string]) : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  const all = [...h, ...fill, ...t];
  if (all.length !== 8) return undefined;
  return all.map((g) => g.padStart(4, '0')).join(':');
}

function reverseName(labels: readonly string[]): NameQuery | undefined {
  const n = labels.length;
  if (n === 6 && labels[4] === 'in-addr' && labels[5] === 'arpa') {
    const octets = labels.slice(0, 4).reverse();
    if (!octets.every((o) => /^(0|[1-9]\d{0,2})$/.test(o) && Number(o) <= 255)) return undefined;
    return { kind: 'ptr', ip: octets.join('.') };
  }
  if (n === 34 && labels[32] === 'ip6' && labels[33] === 'arpa') {
    const nibbles = labels.slice(0, 32);
    if (!nibbles.every((x) => /^[0-9a-f]$/.test(x))) return undefined;
    const hex = nibbles.reverse().join('');
    return { kind: 'ptr', ip: hexToIp(hex)!.ip };
  }
  return undefined;
}

/** True for the arpa reverse zones, which Beacon answers when it knows the address. */
export function isReverseZone(labels: readonly string[]): boolean {
  const n = labels.length;
  return n >= 2 && labels[n - 1] === 'arpa' && (labels[n - 2] === 'in-addr' || labels[n - 2] === 'ip6');
}
