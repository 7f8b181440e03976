import { describe, expect, it } from 'vitest';
import { formatTable } from './table.js';

describe('formatTable', () => {
  it('pads every column but the last to its widest cell, two spaces apart, no trailing blanks', () => {
    expect(
      formatTable([
        ['Node', 'Address', 'DC'],
        ['a-long-name', '10.0.0.1', 'dc1'],
        ['b', '', ''],
      ]),
    ).toBe('Node         Address   DC\n' + 'a-long-name  10.0.0.1  dc1\n' + 'b\n');
  });

  it('takes a wider gap, as `consul catalog services -tags` uses', () => {
    expect(
      formatTable(
        [
          ['web', 'v1,v2'],
          ['consul', ''],
        ],
        6,
      ),
    ).toBe('web         v1,v2\nconsul\n');
  });

  it('prints nothing for no rows', () => {
    expect(formatTable([])).toBe('');
  });
});
