import { describe, expect, it } from 'vitest';
import { Authorizer } from './authorizer.js';
import { parseRules } from './rules.js';

const authz = (rules: string[], defaultAllow = false) => new Authorizer('t', rules.map(parseRules), defaultAllow);

describe('ACL rules', () => {
  it('reads HCL and JSON to the same rules, ignoring the Consul resources Beacon does not have', () => {
    const hcl = parseRules(`
      # comment
      service "web" { policy = "write" }   // another
      service_prefix "" {
        policy = "read"
        intentions = "read"
      }
      /* block
         comment */
      node_prefix "db-" { policy = "deny" }
      key_prefix "" { policy = "write" }
      operator = "read"
      acl = "read"`);
    const json = parseRules(
      JSON.stringify({
        service: { web: { policy: 'write' } },
        service_prefix: { '': { policy: 'read', intentions: 'read' } },
        node_prefix: { 'db-': { policy: 'deny' } },
        key_prefix: { '': { policy: 'write' } },
        operator: 'read',
        acl: 'read',
      }),
    );
    expect(hcl).toEqual(json);
    expect(hcl.exact.service.get('web')).toBe('write');
    expect(hcl.acl).toBe('read');
  });

  it.each([
    ['service "web" { policy = "admin" }', /policy must be "read", "write" or "deny", got "admin"/],
    ['servce "web" { policy = "read" }', /unknown rule "servce" on line 1/],
    ['service "web" { }', /service "web" on line 1 has no policy/],
    ['service web { policy = "read" }', /must be followed by a quoted name/],
    ['service "web" { policy = "read"', /Rules end where "}" closing service "web" was expected/],
    ['service "web\n" { policy = "read" }', /unterminated string on line 1/],
    ['acl = "everything"', /acl on line 1 must be "read", "write" or "deny"/],
    ['{"service": ["web"]}', /"service" must be an object of names/],
    ['{"service": ', /Rules are not valid JSON/],
    ['service "x" { policy = "read" } $', /unexpected "\$" on line 1/],
  ])('refuses %j saying what is wrong', (text, msg) => {
    expect(() => parseRules(text)).toThrow(msg);
  });

  it('an exact rule beats every prefix; the longest prefix wins; no rule means the default policy', () => {
    const a = authz([
      'service_prefix "" { policy = "read" }\nservice_prefix "api-" { policy = "write" }\nservice_prefix "api-internal-" { policy = "deny" }\nservice "api-internal-status" { policy = "read" }',
    ]);
    expect(a.serviceWrite('api-public')).toBe(true);
    expect(a.serviceRead('api-internal-billing')).toBe(false);
    expect(a.serviceRead('api-internal-status')).toBe(true);
    expect(a.serviceWrite('api-internal-status')).toBe(false);
    expect(a.serviceRead('web')).toBe(true);
    expect(a.serviceWrite('web')).toBe(false);
    expect(a.nodeRead('n1')).toBe(false);
    expect(authz([], true).nodeWrite('n1')).toBe(true);
  });

  it('merges policies: for the same name deny wins, then write', () => {
    const a = authz([
      'service "web" { policy = "read" }',
      'service "web" { policy = "write" }',
      'service "db" { policy = "write" }',
      'service "db" { policy = "deny" }',
    ]);
    expect(a.serviceWrite('web')).toBe(true);
    expect(a.serviceRead('db')).toBe(false);
  });

  it('ACL management needs an acl rule or global-management, whatever the default policy', () => {
    expect(authz([], true).acl('read')).toBe(false);
    expect(authz(['acl = "read"']).acl('read')).toBe(true);
    expect(authz(['acl = "read"']).acl('write')).toBe(false);
    expect(new Authorizer('m', [], false, true).acl('write')).toBe(true);
    expect(new Authorizer('m', [], false, true).allowsAll).toBe(true);
    expect(authz([], true).allowsAll).toBe(true);
    expect(authz(['service "x" { policy = "deny" }'], true).allowsAll).toBe(false);
  });
});
