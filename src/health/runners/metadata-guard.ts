/**
 * Keeps health checks away from cloud metadata addresses. A check is a request the server makes
 * on a client's say-so: registered with `HTTP: "http://169.254.169.254/latest/meta-data/iam/…"`
 * it would fetch the host's cloud credentials, and its output (shown by every health route)
 * would hand them to the client. HTTP, TCP and gRPC checks therefore refuse these addresses,
 * whether named literally, reached through a host name that resolves to one, or through a
 * redirect, unless the server runs with `--allow-metadata-checks`.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';

/** The metadata endpoints of the common clouds (AWS, GCP, Azure, OpenStack: 169.254.169.254; AWS ECS: 169.254.170.2; AWS IPv6: fd00:ec2::254). */
const METADATA_V4 = new Set(['169.254.169.254', '169.254.170.2']);
const METADATA_V6 = new Set(['fd00:ec2:0:0:0:0:0:254']);

/** Expands an IPv6 address to eight lower-case groups without leading zeros. */
function expandV6(a: string): string {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return groups.map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':');
}

/** Whether `address` (an IP literal, brackets allowed) is a metadata address. */
export function isMetadataAddress(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, '');
  const family = isIP(a);
  if (family === 4) return METADATA_V4.has(a);
  if (family !== 6) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) return METADATA_V4.has(mapped[1]);
  return METADATA_V6.has(expandV6(a.split('%')[0]));
}

/** The error a refused check reports (its output says what to do). */
export class MetadataAddressError extends Error {
  readonly code = 'EMETADATA';
  constructor(address: string) {
    super(`${address} is a cloud metadata address; checks may not reach it (start the server with --allow-metadata-checks to allow it)`);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net/tls/undici connections that refuses metadata addresses among the
 * resolved ones (the name may point there, or be changed to point there later).
 */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '');
    const list = addresses;
    const bad = list.find((x) => isMetadataAddress(x.address));
    if (bad) return callback(new MetadataAddressError(bad.address), '');
    if (options.all) return callback(null, list);
    const first = list[0];
    if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
    callback(null, first.address, first.family);
  });
}
