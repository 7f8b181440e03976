import { invalidOption } from '../client-error.js';

/**
 * Normalizes a server address: `"127.0.0.1:8500"` → `"http://127.0.0.1:8500"`; keeps the scheme
 * of `http://`/`https://` URLs and drops any path or trailing slash.
 */
export function normalizeServerUrl(raw: string): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw invalidOption('servers entries must be non-empty strings such as "http://127.0.0.1:8500"');
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw.trim()) ? raw.trim() : `http://${raw.trim()}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidOption(`servers entry ${JSON.stringify(raw)} is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidOption(`servers entry ${JSON.stringify(raw)} must use http or https`);
  return url.origin;
}
