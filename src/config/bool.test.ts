import { describe, expect, it } from 'vitest';
import { parseBool } from './index.js';

describe("parseBool (Go's strconv.ParseBool)", () => {
  it.each(['1', 't', 'T', 'TRUE', 'true', 'True'])('%j is true', (v) => expect(parseBool(v)).toBe(true));
  it.each(['0', 'f', 'F', 'FALSE', 'false', 'False'])('%j is false', (v) => expect(parseBool(v)).toBe(false));
  it.each(['', 'yes', 'no', 'on', 'off', 'y', 'n', 'tRuE', 'fAlse', ' true', 'true ', '01', '2', '-1'])('%j is not a boolean', (v) => {
    expect(parseBool(v)).toBeUndefined();
  });
});
