import { describe, expect, it } from 'vitest';
import { seededRandom as prng } from '../../../../test/helpers/prng.js';
import { BeaconError } from '../../../errors/index.js';
import { compileFilter, type FieldSpec } from './index.js';
import { healthEntry, HEALTH_SPEC } from './fixtures.test-suite.js';

const TOKENS = [
  'Service.Tags',
  'Service.Port',
  'Node.Meta',
  'Node.Meta.env',
  'Node.Meta["rack.id"]',
  'Checks.Status',
  'Checks',
  'Foo',
  '==',
  '!=',
  'in',
  'not',
  'contains',
  'matches',
  'is',
  'empty',
  'and',
  'or',
  '(',
  ')',
  '[',
  ']',
  '.',
  '"',
  '`',
  '\\',
  '"v2"',
  '`raw`',
  '"\\u00e9"',
  '"\\x"',
  'passing',
  '8080',
  '-1.5',
  '0x10',
  '1e5',
  'true',
  '"(a+)+$"',
  '"[[:alpha:]]"',
  '"(?i)x"',
  '"a(?=b)"',
  ' ',
  '  ',
  '\t',
  '\n',
  'é',
  '😀',
  '\u0000',
  '\uD800',
];

const VALUES: unknown[] = [
  healthEntry(),
  healthEntry({ statuses: ['critical'], tags: [], meta: {} }),
  null,
  undefined,
  0,
  'x',
  [],
  {},
  { Service: null, Node: [], Checks: [null, { Status: 5 }] },
  { Service: { Tags: 'v2', Port: '8080', Meta: [] } },
];

const pick = <T>(rand: () => number, list: readonly T[]): T => list[Math.floor(rand() * list.length)];

const SELECTORS = [
  'Service.Tags',
  'Service.Port',
  'Service.ID',
  'Node.Meta',
  'Node.Meta.env',
  'Node.Meta["rack.id"]',
  'Checks.Status',
  'Checks',
  'Service.Weights.Passing',
  'Nope',
];
const MATCH_VALUES = ['v2', '"v2"', '`prod`', '8080', '-1', '"8080"', 'true', '"passing"', '"^pay.*"', '""'];

/** A grammatical expression (which may still fail field checks with a spec). */
function randomValid(rand: () => number, depth = 0): string {
  const r = rand();
  if (depth < 4 && r < 0.25) return `${randomValid(rand, depth + 1)} ${pick(rand, ['and', 'or'])} ${randomValid(rand, depth + 1)}`;
  if (depth < 4 && r < 0.35) return `not ${randomValid(rand, depth + 1)}`;
  if (depth < 4 && r < 0.45) return `(${randomValid(rand, depth + 1)})`;
  const sel = pick(rand, SELECTORS);
  const val = pick(rand, MATCH_VALUES);
  return pick(rand, [
    `${sel} == ${val}`,
    `${sel} != ${val}`,
    `${val} in ${sel}`,
    `${val} not in ${sel}`,
    `${sel} contains ${val}`,
    `${sel} not contains ${val}`,
    `${sel} is empty`,
    `${sel} is not empty`,
    `${sel} matches ${val}`,
    `${sel} not matches ${val}`,
  ]);
}

/** Deletes, duplicates or replaces one character. */
function mutate(rand: () => number, text: string): string {
  const at = Math.floor(rand() * (text.length + 1));
  const r = rand();
  if (r < 0.33) return text.slice(0, at) + text.slice(at + 1);
  if (r < 0.66) return text.slice(0, at) + text.slice(at, at + 1) + text.slice(at);
  return text.slice(0, at) + pick(rand, TOKENS) + text.slice(at + 1);
}

function randomExpression(rand: () => number): string {
  const kind = rand();
  if (kind < 0.35) return randomValid(rand);
  if (kind < 0.6) return mutate(rand, randomValid(rand));
  if (kind < 0.7) {
    // raw characters from the printable ASCII range and a few specials
    const n = Math.floor(rand() * 40);
    let out = '';
    for (let i = 0; i < n; i++) out += rand() < 0.9 ? String.fromCharCode(32 + Math.floor(rand() * 95)) : TOKENS[Math.floor(rand() * TOKENS.length)];
    return out;
  }
  const n = 1 + Math.floor(rand() * 14);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(TOKENS[Math.floor(rand() * TOKENS.length)]);
  return parts.join(rand() < 0.7 ? ' ' : '');
}

describe('fuzz: compileFilter on random input', () => {
  it.each([
    ['without a spec', undefined],
    ['with a spec', HEALTH_SPEC],
  ] as [string, FieldSpec | undefined][])('throws nothing but BeaconError and never throws while evaluating (%s)', (_name, fields) => {
    const rand = prng(fields ? 0xbeac0 : 0xf117e5);
    let compiled = 0;
    for (let i = 0; i < 4000; i++) {
      const expression = randomExpression(rand);
      let keep: ((v: unknown) => boolean) | undefined;
      try {
        keep = compileFilter(expression, { fields });
      } catch (err) {
        if (!(err instanceof BeaconError) || err.code !== 'BEACON_ERR_VALIDATION') {
          throw new Error(`compileFilter(${JSON.stringify(expression)}) threw ${String(err)}`);
        }
        expect(err.message.startsWith('Failed to create boolean expression evaluator: ')).toBe(true);
        continue;
      }
      compiled++;
      for (const value of VALUES) expect(typeof keep(value)).toBe('boolean');
    }
    expect(compiled).toBeGreaterThan(50); // the generator does reach valid expressions
  });

  // No clock here (the machine is shared): a parser that backtracked exponentially on these
  // shapes would not finish within the test timeout, which is what fails it.
  it('handles pathological shapes: a result or a BeaconError, never a hang, overflow or other error', () => {
    const shapes = [
      '('.repeat(4000),
      `${'not '.repeat(1000)}`,
      `${'a == 1 and '.repeat(370)}a == 1`,
      `${'a == 1 or '.repeat(370)}`,
      `"${'\\'.repeat(4000)}`,
      `a == ${'9'.repeat(4000)}`,
      `a${'.b'.repeat(2000)} == 1`,
      `a${'["x"]'.repeat(800)} == 1`,
      `${'( '.repeat(64)}a == 1${' )'.repeat(63)}`,
      `${'v in '.repeat(800)}x`,
    ];
    for (const expression of shapes) {
      try {
        compileFilter(expression)(healthEntry());
      } catch (err) {
        expect(err).toBeInstanceOf(BeaconError);
      }
    }
  });
});
