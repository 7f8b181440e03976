import { describe, expect, it } from 'vitest';
import { SortedKeys } from './sorted-keys.js';

function collect(s: SortedKeys, prefix: string): string[] {
  const out: string[] = [];
  s.forEachWithPrefix(prefix, (k) => out.push(k));
  return out;
}

describe('SortedKeys', () => {
  it('matches a plain sorted set under random inserts and removes across many blocks', () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const s = SortedKeys.fromSorted(['a/0000', 'b/0001']);
    const model = new Set(['a/0000', 'b/0001']);
    for (let i = 0; i < 30_000; i++) {
      const key = `${'abc'[rand(3)]}/${String(rand(6000)).padStart(4, '0')}`;
      if (rand(3) === 0) {
        s.remove(key);
        model.delete(key);
      } else {
        s.insert(key);
        model.add(key);
      }
    }
    const sorted = [...model].sort();
    expect(s.size).toBe(model.size);
    expect(collect(s, '')).toEqual(sorted);
    expect(collect(s, 'b/')).toEqual(sorted.filter((k) => k.startsWith('b/')));
    expect(collect(s, 'c/12')).toEqual(sorted.filter((k) => k.startsWith('c/12')));
    expect(collect(s, 'd')).toEqual([]);
    for (const k of sorted) s.remove(k);
    expect(s.size).toBe(0);
    expect(collect(s, '')).toEqual([]);
  });
});
