import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLIENT_ERRORS } from './client-error.js';

describe('SDK error codes', () => {
  const doc = readFileSync(new URL('../../docs/client.md', import.meta.url), 'utf8');

  it.each(Object.entries(CLIENT_ERRORS))('%s is documented in docs/client.md with its retryable flag', (code, spec) => {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
    expect(row, `docs/client.md has no row for ${code}`).toBeDefined();
    expect(row!.split('|')[2].trim()).toBe(spec.retryable ? 'yes' : 'no');
  });

  it('documents no SDK code the registry lacks', () => {
    const section = doc.slice(doc.indexOf('## Errors'), doc.indexOf('## Observability'));
    const documented = [...section.matchAll(/^\| `(BEACON_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(CLIENT_ERRORS).sort());
  });
});
