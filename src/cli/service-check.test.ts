import { describe, expect, it } from 'vitest';
import { checkDefinitions } from './service-check.js';

const refused = async (defs: Parameters<typeof checkDefinitions>[0]): Promise<string> => {
  try {
    await checkDefinitions(defs);
  } catch (err) {
    expect(err).toMatchObject({ code: 'BEACON_ERR_VALIDATION' });
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('checkDefinitions', () => {
  it('passes what the API takes, keys in any case, script checks included (the server decides on those)', async () => {
    await checkDefinitions([
      { def: { Name: 'web', Port: 8080, Check: { TTL: '30s' } }, where: 'a.json' },
      {
        def: { name: 'api', port: 9090, tags: ['v2'], meta: { v: '1' }, checks: [{ http: 'http://127.0.0.1:9090/health', interval: '10s' }] },
        where: 'b.json',
      },
      { def: { Name: 'job', Check: { Args: ['/bin/true'], Interval: '30s' } }, where: 'c.json' },
    ]);
  });

  it("refuses with the server's own rules, naming where the definition came from", async () => {
    expect(await refused([{ def: { Name: 'web', Port: 99999 }, where: 'all.json: services[1]' }])).toBe(
      'all.json: services[1]: Invalid Port: must be <= 65535',
    );
    expect(await refused([{ def: { Port: 80 }, where: 'x.json' }])).toBe('x.json: Missing service name (field: Name)');
    expect(await refused([{ def: { Name: 'web', Check: { HTTP: 'http://127.0.0.1:1/' } }, where: 'x.json' }])).toMatch(
      /^x\.json: Invalid check: Interval must be > 0 .*\(field: Check\.Interval\)$/,
    );
  });

  it('refuses a key that names no field, with a suggestion, nested ones too', async () => {
    expect(await refused([{ def: { Name: 'web', Chek: { TTL: '30s' } }, where: 'web.json' }])).toBe('web.json: unknown key "Chek" (did you mean Check?)');
    expect(await refused([{ def: { Name: 'web', Check: { HTTP: 'http://x/', Intervl: '10s' } }, where: 'web.json' }])).toBe(
      'web.json: unknown key "Check.Intervl" (did you mean Check.Interval?)',
    );
    expect(await refused([{ def: { Name: 'web', Checks: [{ TTL: '1s' }, { TTLL: '1s' }] }, where: 'web.json' }])).toBe(
      'web.json: unknown key "Checks[1].TTLL" (did you mean Checks[1].TTL?)',
    );
  });
});
