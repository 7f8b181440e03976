import { BeaconError, invalid } from '../../errors/index.js';

const MAYBE_FORBIDDEN = /__proto__|constructor|prototype|\\u/;
/** A `\uD800`-`\uDFFF` escape: the only way a body can hold a surrogate (raw bytes decode to U+FFFD). */
const SURROGATE_ESCAPE = /\\u[dD][89abcdefABCDEF]/;
/** In a `u` regex a pair is one code point, so this matches only an unpaired surrogate. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The deepest nesting of objects and arrays a request body may have. Beacon's deepest real
 * body (a catalog registration's `Service.Checks[i].Header` lists) is 6 levels; the bound keeps
 * every recursive walk of a body (key normalization, validation) far from the stack's limit.
 */
export const MAX_BODY_DEPTH = 32;

/** The error for a body nested deeper than MAX_BODY_DEPTH. */
export function bodyTooDeep(): BeaconError {
  return invalid('body', `Request body nested too deeply: at most ${MAX_BODY_DEPTH} levels of objects and arrays`);
}

/**
 * Parses a JSON body as Consul does (any content type). Refuses prototype-polluting keys, bodies
 * nested deeper than MAX_BODY_DEPTH, and strings or keys holding an unpaired UTF-16 surrogate
 * (`"\ud800"`): such a string cannot be UTF-8 encoded, so it could become neither a store key
 * nor an answer. Errors name the field.
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  // Checked on the text, before anything recursive (JSON.parse's reviver included) sees it.
  if (nestedDeeperThan(text, MAX_BODY_DEPTH)) throw bodyTooDeep();
  let value: unknown;
  try {
    // A reviver makes JSON.parse several times slower (9 % of a registration's CPU), so it runs
    // only when a forbidden key could be there: spelled out, or hidden behind a \u escape.
    if (!MAYBE_FORBIDDEN.test(text)) return JSON.parse(text);
    value = JSON.parse(text, (k, v: unknown) => {
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') {
        throw new BeaconError('BEACON_ERR_VALIDATION', `Request decode failed: key "${k}" is not allowed`, { field: k });
      }
      return v;
    });
  } catch (err) {
    if (err instanceof BeaconError) throw err;
    throw new BeaconError('BEACON_ERR_BAD_JSON', `Request decode failed: ${(err as Error).message}`, { field: 'body' });
  }
  if (SURROGATE_ESCAPE.test(text)) {
    const bad = findUnpairedSurrogate(value);
    if (bad) {
      const field = bad.path || 'body';
      throw invalid(
        field,
        bad.inKey ? `Invalid ${field}: a key contains an unpaired UTF-16 surrogate` : `Invalid ${field}: contains an unpaired UTF-16 surrogate`,
      );
    }
  }
  return value;
}

/**
 * Whether JSON text nests objects and arrays more than `max` deep (string contents skipped).
 * One pass, no recursion; malformed text is left for JSON.parse to report.
 */
export function nestedDeeperThan(text: string, max: number): boolean {
  // Fewer openings than the bound cannot nest past it. Counting them with indexOf costs a tenth
  // of the scan below, and a registration body has a dozen or so.
  let opens = 0;
  for (let i = text.indexOf('{'); i >= 0 && opens <= max; i = text.indexOf('{', i + 1)) opens++;
  for (let i = text.indexOf('['); i >= 0 && opens <= max; i = text.indexOf('[', i + 1)) opens++;
  if (opens <= max) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Jump to the closing quote: one not preceded by an odd number of backslashes.
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        if (j < 0) return false;
        let slashes = 0;
        while (text.charCodeAt(j - 1 - slashes) === 0x5c /* \ */) slashes++;
        if (slashes % 2 === 0) break;
      }
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}

/**
 * The first string or key holding an unpaired surrogate, as the path the client sent
 * (`Name`, `Tags[1]`, `Meta.k`, '' for the body itself). Iterative: no depth limit of its own.
 */
export function findUnpairedSurrogate(value: unknown): { path: string; inKey: boolean } | undefined {
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) return { path, inKey: false };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (const [k] of entries) if (LONE_SURROGATE.test(k)) return { path, inKey: true };
      for (let i = entries.length - 1; i >= 0; i--) stack.push([entries[i][1], path ? `${path}.${entries[i][0]}` : entries[i][0]]);
    }
  }
  return undefined;
}
