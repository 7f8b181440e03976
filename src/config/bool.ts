/**
 * Go's `strconv.ParseBool`, which Consul uses wherever it reads a boolean (query parameters such
 * as `?enable=`, config values): `1 t T TRUE true True` are true, `0 f F FALSE false False` are
 * false; anything else (`yes`, `on`, `tRuE`, ` true`) is undefined. The one boolean parser of
 * Beacon's server: config values and `BEACON_*` variables, and explicit values of query flags.
 *
 * @example
 * parseBool('True');  // true
 * parseBool('0');     // false
 * parseBool('yes');   // undefined
 */
export function parseBool(text: string): boolean | undefined {
  switch (text) {
    case '1':
    case 't':
    case 'T':
    case 'TRUE':
    case 'true':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'FALSE':
    case 'false':
    case 'False':
      return false;
    default:
      return undefined;
  }
}
