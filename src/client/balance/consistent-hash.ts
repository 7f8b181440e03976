import { hash32 } from './hash.js';
import { NO_TRACKING, type Balancer, type BalancerInstance, type BalancerOptions } from './types.js';

interface Ring {
  signature: string;
  size: number;
  points: Uint32Array;
  /** owner[i] = index into the instance array of the owner of points[i]. */
  owner: Uint32Array;
}

function signatureOf(instances: readonly BalancerInstance[]): string {
  let s = '';
  for (const inst of instances) s += inst.id + '\u0000';
  return s;
}

function buildRing(instances: readonly BalancerInstance[], virtualNodes: number, signature: string): Ring {
  const entries: Array<[number, number]> = [];
  instances.forEach((inst, idx) => {
    for (let v = 0; v < virtualNodes; v++) entries.push([hash32(`${inst.id}#${v}`), idx]);
  });
  // Ties between points are broken by instance id so the ring does not depend on set order.
  entries.sort((a, b) => a[0] - b[0] || (instances[a[1]].id < instances[b[1]].id ? -1 : 1));
  return {
    signature,
    size: instances.length,
    points: Uint32Array.from(entries, (e) => e[0]),
    owner: Uint32Array.from(entries, (e) => e[1]),
  };
}

/**
 * Consistent hashing on a key (a ring with virtual nodes). The same key goes to the same
 * instance while that instance stays; when one of N instances leaves, only the keys it held
 * (about 1/N) move, and when one joins, about 1/(N+1) move to it. Without a key the pick is
 * random.
 *
 * @example
 * const lb = createBalancer('consistent-hash');
 * lb.pick(instances, { key: request.ip });
 */
export function consistentHash(opts: BalancerOptions = {}): Balancer {
  const random = opts.random ?? Math.random;
  const virtualNodes = Math.max(1, Math.floor(opts.virtualNodes ?? 160));
  let ring: Ring | undefined;
  let ringFor: readonly BalancerInstance[] | undefined;
  return {
    strategy: 'consistent-hash',
    pick<T extends BalancerInstance>(instances: readonly T[], ctx?: { key?: string }): T | undefined {
      if (instances.length === 0) return undefined;
      if (ctx?.key === undefined) return instances[Math.floor(random() * instances.length)];
      if (ringFor !== instances || ring?.size !== instances.length) {
        const signature = signatureOf(instances);
        if (ring?.signature !== signature) ring = buildRing(instances, virtualNodes, signature);
        ringFor = instances;
      }
      const { points, owner } = ring;
      const h = hash32(ctx.key);
      let lo = 0;
      let hi = points.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (points[mid] < h) lo = mid + 1;
        else hi = mid;
      }
      return instances[owner[lo === points.length ? 0 : lo]];
    },
    start: () => NO_TRACKING,
  };
}
