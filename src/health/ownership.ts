import type { CheckRecord } from '../catalog/index.js';

/**
 * Which checks this server runs. In single-server mode the answer is every one; cluster mode
 * passes its own function (rendezvous hashing over live servers) in HealthOptions.owns, and
 * nothing else in the health subsystem decides ownership.
 */
export function ownsEverything(_check: Pick<CheckRecord, 'Node' | 'CheckID' | 'ServiceID'>): boolean {
  return true;
}
