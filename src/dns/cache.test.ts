import { describe, expect, it } from 'vitest';
import { finishAnswer, type CachedAnswer } from './assemble.js';
import { AnswerCache } from './cache.js';
import type { Topic } from '../catalog/index.js';

const entry = (...topics: Topic[]): CachedAnswer =>
  finishAnswer({
    rcode: 0,
    authoritative: true,
    answers: [],
    extras: undefined,
    authority: [],
    additional: [],
    shuffle: false,
    maxAnswers: 0,
    topics,
  });

describe('AnswerCache', () => {
  it('drops exactly the entries of the changed topics', () => {
    const c = new AnswerCache(100, 1);
    c.set('web-a', entry('svc:web'));
    c.set('web-srv', entry('svc:web'));
    c.set('api-a', entry('svc:api'));
    c.set('ptr', entry('table:nodes', 'table:services'));
    c.set('static', entry());
    c.invalidate(new Set<Topic>(['svc:web', 'table:services']), 2);
    expect(c.get('web-a', 2)).toBeUndefined();
    expect(c.get('web-srv', 2)).toBeUndefined();
    expect(c.get('ptr', 2)).toBeUndefined();
    expect(c.get('api-a', 2)).toBeDefined();
    expect(c.get('static', 2)).toBeDefined();
    expect(c.stats()).toMatchObject({ entries: 2, invalidations: 3, hits: 2, misses: 3 });
    // A multi-topic entry removed by one topic is gone from the other topic's index too.
    c.set('ptr', entry('table:nodes', 'table:services'));
    c.invalidate(new Set<Topic>(['table:nodes']), 3);
    expect(c.get('ptr', 3)).toBeUndefined();
  });

  it('clears everything when the catalog revision moved without a notification', () => {
    const c = new AnswerCache(100, 5);
    c.set('a', entry('svc:a'));
    c.set('s', entry());
    expect(c.get('a', 5)).toBeDefined();
    expect(c.get('a', 9)).toBeUndefined();
    expect(c.get('s', 9)).toBeUndefined();
    c.set('a', entry('svc:a'));
    expect(c.get('a', 9)).toBeDefined();
  });

  it('evicts the oldest entry when full', () => {
    const c = new AnswerCache(16, 1);
    for (let i = 0; i < 20; i++) c.set(`k${i}`, entry(`svc:s${i}`));
    expect(c.size).toBe(16);
    expect(c.get('k0', 1)).toBeUndefined();
    expect(c.get('k19', 1)).toBeDefined();
    expect(c.stats().evictions).toBe(4);
    // Evicted entries left no topic behind: invalidating them is a no-op.
    c.invalidate(new Set<Topic>(['svc:s0']), 1);
    expect(c.size).toBe(16);
  });
});
