import { describe, expect, it } from 'vitest';
import { balancerContract } from './balancer.test-suite.js';
import { createBalancer, DEFAULT_STRATEGY, isStrategyName, STRATEGIES } from './index.js';
import { BeaconClientError } from '../client-error.js';

for (const strategy of STRATEGIES) balancerContract(strategy);

describe('createBalancer', () => {
  it('defaults to power of two choices on latency', () => {
    expect(DEFAULT_STRATEGY).toBe('p2c-ewma');
    expect(createBalancer().strategy).toBe('p2c-ewma');
  });

  it('rejects an unknown strategy with a validation error naming the choices', () => {
    let caught: unknown;
    try {
      createBalancer('fastest' as never);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BeaconClientError);
    expect((caught as BeaconClientError).code).toBe('BEACON_ERR_VALIDATION');
    expect((caught as Error).message).toContain('round-robin');
  });

  it('recognises exactly the listed strategy names', () => {
    for (const s of STRATEGIES) expect(isStrategyName(s)).toBe(true);
    expect(isStrategyName('p2c')).toBe(false);
    expect(isStrategyName(undefined)).toBe(false);
  });
});
