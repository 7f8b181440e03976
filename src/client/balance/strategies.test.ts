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

  it('rejects an unknown option and one out of range', () => {
    expect(() => createBalancer('consistent-hash', { virtualNode: 10 } as never)).toThrow(/unknown option "virtualNode" \(did you mean virtualNodes\?\)/);
    expect(() => createBalancer('consistent-hash', { virtualNodes: 0 })).toThrow(/virtualNodes must be an integer from 1 to 10000, got 0/);
    expect(() => createBalancer('p2c-ewma', { decayMs: -5 })).toThrow(/decayMs/);
  });

  it('recognises exactly the listed strategy names', () => {
    for (const s of STRATEGIES) expect(isStrategyName(s)).toBe(true);
    expect(isStrategyName('p2c')).toBe(false);
    expect(isStrategyName(undefined)).toBe(false);
  });
});
