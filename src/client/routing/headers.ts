import type { Dispatcher } from 'undici';

type Headers = Dispatcher.DispatchOptions['headers'];

/** An iterable of [name, value] pairs (a Map, Headers, …) rather than a plain object. */
function isPairList(h: unknown): h is Iterable<[string, string | string[] | undefined]> {
  return (
    typeof h === 'object' && h !== null && Object.getPrototypeOf(h) !== Object.prototype && typeof (h as Iterable<unknown>)[Symbol.iterator] === 'function'
  );
}

/** Reads one header (case-insensitive) from any header shape undici accepts. */
export function getHeader(headers: Headers, name: string): string | undefined {
  if (headers == null) return undefined;
  const want = name.toLowerCase();
  const pick = (v: unknown) => (Array.isArray(v) ? (v[0] as string | undefined) : typeof v === 'string' ? v : undefined);
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as unknown as Array<[string, string]>) if (String(pair[0]).toLowerCase() === want) return pick(pair[1]);
      return undefined;
    }
    for (let i = 0; i + 1 < headers.length; i += 2) if (String(headers[i]).toLowerCase() === want) return pick(headers[i + 1]);
    return undefined;
  }
  if (isPairList(headers)) {
    for (const [k, v] of headers) if (k.toLowerCase() === want) return pick(v);
    return undefined;
  }
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) if (k.toLowerCase() === want) return pick(v);
  return undefined;
}

/** `headers` with a Host header added unless one is there (same shape where possible). */
export function withHost(headers: Headers, host: string): Headers {
  if (getHeader(headers, 'host') !== undefined) return headers;
  if (headers == null) return { host };
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) return [['host', host], ...(headers as unknown as Array<[string, string]>)].flat();
    return ['host', host, ...headers];
  }
  if (isPairList(headers)) {
    const flat: string[] = ['host', host];
    for (const [k, v] of headers) {
      if (v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) flat.push(k, item);
    }
    return flat;
  }
  return { host, ...(headers as Record<string, string | string[] | undefined>) };
}

/** `headers` without `name` (case-insensitive), in the same shape where possible. */
export function withoutHeader(headers: Headers, name: string): Headers {
  if (headers == null) return headers;
  const drop = name.toLowerCase();
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      return (headers as unknown as Array<[string, string]>).filter((p) => String(p[0]).toLowerCase() !== drop);
    }
    const out: string[] = [];
    for (let i = 0; i + 1 < headers.length; i += 2) if (String(headers[i]).toLowerCase() !== drop) out.push(headers[i], headers[i + 1]);
    return out;
  }
  if (isPairList(headers)) {
    const flat: string[] = [];
    for (const [k, v] of headers) {
      if (v === undefined || k.toLowerCase() === drop) continue;
      for (const item of Array.isArray(v) ? v : [v]) flat.push(k, item);
    }
    return flat;
  }
  const out: Record<string, string | string[] | undefined> = {};
  for (const [k, v] of Object.entries(headers as Record<string, string | string[] | undefined>)) if (k.toLowerCase() !== drop) out[k] = v;
  return out;
}
