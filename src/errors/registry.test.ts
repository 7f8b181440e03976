import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BeaconError, ERRORS } from './index.js';

describe('error registry', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

  it.each(Object.entries(ERRORS))('%s is documented in docs/errors.md with its status', (code, spec) => {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
    expect(row, `docs/errors.md has no row for ${code}`).toBeDefined();
    expect(row!.split('|')[2].trim()).toBe(String(spec.status));
    expect(row!.split('|')[4].trim()).toBe(spec.retryable ? 'yes' : 'no');
  });

  it('documents no code that the registry lacks', () => {
    const documented = [...doc.matchAll(/^\| `(BEACON_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ERRORS).sort());
  });

  it('BeaconError exposes status, retryable flag and a JSON wire form', () => {
    const e = new BeaconError('BEACON_ERR_VALIDATION', 'Invalid Port: must be <= 65535', { field: 'Port' });
    expect(e.status).toBe(400);
    expect(e.retryable).toBe(false);
    expect(e.toJSON()).toEqual({ code: 'BEACON_ERR_VALIDATION', message: 'Invalid Port: must be <= 65535', field: 'Port' });
  });
});
