import { isIP } from 'node:net';

/** A service named by a URL host. */
export interface ServiceTarget {
  readonly name: string;
  readonly dc: string | undefined;
}

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/i;

/**
 * Reads a service name out of a URL host. Accepted forms: `payments`, `payments.service`,
 * `payments.service.consul`, `payments.service.dc2.consul` (datacenter dc2). Anything else —
 * IP addresses, `localhost`, ordinary DNS names such as `example.com` — is not a service and
 * undefined is returned, so the call goes out unchanged.
 *
 * @example
 * serviceFromHost('payments');                  // { name: 'payments', dc: undefined }
 * serviceFromHost('payments.service.eu.consul'); // { name: 'payments', dc: 'eu' }
 * serviceFromHost('api.example.com');            // undefined
 */
export function serviceFromHost(host: string, domain = 'consul'): ServiceTarget | undefined {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (h === '' || h === 'localhost' || isIP(h.replace(/^\[|\]$/g, '')) !== 0) return undefined;
  const labels = h.split('.');
  if (!labels.every((l) => LABEL.test(l))) return undefined;
  if (labels.length === 1) return { name: labels[0], dc: undefined };
  if (labels[1] !== 'service') return undefined;
  if (labels.length === 2) return { name: labels[0], dc: undefined };
  if (labels.length === 3 && labels[2] === domain) return { name: labels[0], dc: undefined };
  if (labels.length === 4 && labels[3] === domain) return { name: labels[0], dc: labels[2] };
  return undefined;
}
