/**
 * One lease keep-alive: etcd only offers keep-alives on a stream, so this opens one, sends the
 * lease id once, takes the one answer (the TTL, 0 when the lease is gone) and closes it. Beacon
 * holds one lease per node and refreshes it every few seconds, so a stream per refresh costs
 * nothing worth sharing one for.
 */
import type { CallOptions } from '@grpc/grpc-js';
import type { LeaseClient } from 'etcd3';
import { BeaconError } from '../../errors/index.js';
import { num } from './codec.js';

/** Refreshes `lease` once; resolves to its TTL in seconds; BEACON_ERR_LEASE_NOT_FOUND when etcd no longer has it. */
export async function keepAliveOnce(leases: LeaseClient, lease: string, opts: CallOptions): Promise<number> {
  const stream = await leases.leaseKeepAlive(opts);
  const ttl = await new Promise<number>((resolve, reject) => {
    stream.on('data', (res) => resolve(num(res.TTL)));
    stream.on('error', reject);
    stream.on('end', () => reject(new Error('14 UNAVAILABLE: the keep-alive stream ended without an answer')));
    stream.write({ ID: lease });
  });
  stream.end();
  if (ttl <= 0) throw new BeaconError('BEACON_ERR_LEASE_NOT_FOUND', `lease ${lease} not found (it expired or was revoked)`);
  return ttl;
}
