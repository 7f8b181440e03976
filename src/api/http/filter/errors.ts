import { BeaconError } from '../../../errors/index.js';

/** Consul's prefix for every filter error (go-bexpr's `CreateFilter`). */
export const FILTER_ERROR_PREFIX = 'Failed to create boolean expression evaluator: ';

/** A bad `?filter=` expression: a 400 naming the `filter` field, with Consul's wording. */
export function filterError(detail: string): BeaconError {
  return new BeaconError('BEACON_ERR_VALIDATION', FILTER_ERROR_PREFIX + detail, { field: 'filter' });
}

/**
 * Formats a position the way go-bexpr's parser (pigeon) does: `line:column (byteOffset)`,
 * the column counted in characters from 1 and the offset in UTF-8 bytes from 0.
 */
export function formatPosition(src: string, index: number): string {
  let line = 1;
  let col = 1;
  let offset = 0;
  const end = Math.min(index, src.length);
  for (let i = 0; i < end; i++) {
    const code = src.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < end) {
      // a surrogate pair is one character and four UTF-8 bytes
      i++;
      offset += 4;
      col++;
      continue;
    }
    offset += code < 0x80 ? 1 : code < 0x800 ? 2 : 3;
    if (code === 0x0a) {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  return `${line}:${col} (${offset})`;
}

/** A parse error at a position: `1:17 (16): <message>`. */
export function parseError(src: string, index: number, message: string): BeaconError {
  return filterError(`${formatPosition(src, index)}: ${message}`);
}
