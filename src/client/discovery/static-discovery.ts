import { invalidOption } from '../client-error.js';
import { knownKeys } from '../validate.js';
import type { ClientLogger } from '../logger.js';
import { FeedDiscovery } from './feed-discovery.js';
import type { ServiceFeed } from './feed.js';
import { uniqueSorted } from './health-entries.js';
import type { ServiceInstance } from './types.js';

/** A fixed endpoint: `"host:port"`, or an object with an optional id, weight, tags and meta. */
export type StaticEndpoint =
  | string
  | {
      readonly address: string;
      readonly port: number;
      readonly id?: string;
      readonly weight?: number;
      readonly tags?: readonly string[];
      readonly meta?: Readonly<Record<string, string>>;
    };

/** The keys of an endpoint given as an object. */
export const STATIC_ENDPOINT_KEYS = ['address', 'port', 'id', 'weight', 'tags', 'meta'] as const;

/** Service name → its fixed endpoints. */
export type StaticServices = Readonly<Record<string, readonly StaticEndpoint[]>>;

function toInstance(service: string, ep: StaticEndpoint): ServiceInstance {
  let address: string;
  let port: number;
  let extra: Exclude<StaticEndpoint, string> | undefined;
  if (typeof ep === 'string') {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(ep.trim());
    if (!m) throw invalidOption(`Static endpoint ${JSON.stringify(ep)} of ${service} must look like "host:port"`);
    address = m[1]!;
    port = Number(m[2]);
  } else {
    extra = knownKeys(ep, STATIC_ENDPOINT_KEYS, `static.${service} endpoint`) as Exclude<StaticEndpoint, string>;
    address = ep.address;
    port = ep.port;
  }
  if (!address || !Number.isInteger(port) || port < 1 || port > 65535)
    throw invalidOption(`Static endpoint of ${service} needs an address and a port in 1..65535`);
  const weight = extra?.weight ?? 1;
  if (!Number.isInteger(weight) || weight < 0) throw invalidOption(`static.${service}: weight must be a non-negative integer, got ${String(weight)}`);
  return {
    id: extra?.id ?? `${address}:${port}`,
    service,
    address,
    port,
    tags: [...(extra?.tags ?? [])],
    meta: { ...(extra?.meta ?? {}) },
    node: '',
    datacenter: undefined,
    status: 'passing',
    weights: { passing: weight, warning: weight },
    weight,
  };
}

/**
 * Discovery from a fixed list (tests, local development, or services outside the registry).
 * Never stale; a service not in the list has no instances. Tags filter as in the registry.
 */
export class StaticDiscovery extends FeedDiscovery {
  readonly mode = 'static' as const;
  readonly #services: ReadonlyMap<string, readonly ServiceInstance[]>;

  constructor(services: StaticServices, log: ClientLogger) {
    super(log);
    this.#services = new Map(Object.entries(services).map(([name, eps]) => [name, uniqueSorted(eps.map((ep) => toInstance(name, ep)))]));
  }

  protected run(feed: ServiceFeed): Promise<void> {
    const { name, tags } = feed.query;
    const all = this.#services.get(name) ?? [];
    feed.update(all.filter((i) => tags.every((t) => i.tags.includes(t))));
    return Promise.resolve();
  }
}
