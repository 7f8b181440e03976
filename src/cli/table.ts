/**
 * Aligns rows in columns the way Go's text/tabwriter (and the `consul` CLI's columnize) does:
 * every column but the last padded to its widest cell, `gap` spaces between columns, no
 * trailing blanks. Cells must not contain line breaks.
 *
 * @example
 * formatTable([['Node', 'Address'], ['web-1', '10.0.0.1:8301']]);
 * // 'Node   Address\nweb-1  10.0.0.1:8301\n'
 */
export function formatTable(rows: readonly (readonly string[])[], gap = 2): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const pad = ' '.repeat(gap);
  return rows
    .map(
      (row) =>
        row
          .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i])))
          .join(pad)
          .trimEnd() + '\n',
    )
    .join('');
}
