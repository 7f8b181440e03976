/**
 * The etcd store URL: `etcd://host:port[,host:port…]` (or `etcd+https://…` for TLS), one entry
 * per etcd member (the port defaults to 2379). Checked before anything connects; a URL the driver cannot use is refused
 * with BEACON_ERR_CONFIG naming the field `store` and saying what to write instead.
 */
import { BeaconError } from '../../errors/index.js';

/** etcd's client port, used when an endpoint names none. */
export const DEFAULT_ETCD_PORT = 2379;

const EXAMPLE = 'etcd://127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379';

/** Whether an etcd store URL asks for TLS (`etcd+https://`). */
export function etcdUsesTls(url: string): boolean {
  return /^etcd\+https:\/\//i.test(url);
}

/** Whether `url` asks for the etcd driver (`etcd://` or `etcd+https://`, any case). */
export function isEtcdUrl(url: string): boolean {
  return /^etcd(\+[a-z]+)?:\/\//i.test(url);
}

function configError(url: string, why: string): BeaconError {
  return new BeaconError('BEACON_ERR_CONFIG', `store URL ${JSON.stringify(url)} ${why}`, { field: 'store' });
}

/**
 * The members' client endpoints (`host:port`, IPv6 hosts in brackets) named by an etcd store URL.
 *
 * @example
 * parseEtcdUrl('etcd://10.0.0.1:2379,10.0.0.2'); // ['10.0.0.1:2379', '10.0.0.2:2379']
 */
export function parseEtcdUrl(url: string): string[] {
  const m = /^([a-z0-9+]+):\/\/(.*)$/is.exec(url);
  if (m === null || !isEtcdUrl(url)) throw configError(url, `is not an etcd URL: write it as ${EXAMPLE}`);
  const scheme = m[1].toLowerCase();
  if (scheme !== 'etcd' && scheme !== 'etcd+https') throw configError(url, `has an unknown scheme ${JSON.stringify(m[1])}: write it as ${EXAMPLE}`);
  const rest = m[2];
  if (/[/?#@\s]/.test(rest)) throw configError(url, `may hold only host:port entries separated by commas (no path, query, user or spaces), e.g. ${EXAMPLE}`);
  const entries = rest.split(',');
  if (rest === '' || entries.some((e) => e === '')) throw configError(url, `names no etcd member (or an empty one): write it as ${EXAMPLE}`);
  const seen = new Set<string>();
  return entries.map((entry) => {
    const endpoint = parseEndpoint(entry);
    if (endpoint === undefined)
      throw configError(url, `has a member ${JSON.stringify(entry)} that is not host:port with a port from 1 to 65535, e.g. ${EXAMPLE}`);
    if (seen.has(endpoint)) throw configError(url, `names the member ${endpoint} twice`);
    seen.add(endpoint);
    return endpoint;
  });
}

function parseEndpoint(entry: string): string | undefined {
  const v6 = /^\[([0-9a-f:.]+)\](?::(\d+))?$/i.exec(entry);
  const plain = /^([a-z0-9.-]+)(?::(\d+))?$/i.exec(entry);
  const match = v6 ?? plain;
  if (match === null) return undefined;
  const host = v6 !== null ? `[${match[1]}]` : match[1];
  if (v6 === null && (host.startsWith('-') || host.startsWith('.') || host.endsWith('-'))) return undefined;
  const port = match[2] === undefined ? DEFAULT_ETCD_PORT : Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return `${host}:${port}`;
}
