/**
 * Registration rules for strings with an unpaired UTF-16 surrogate, from sources other than
 * the HTTP API (whose body parser refuses them first): config files and the agent.
 */
import { describe, expect, it } from 'vitest';
import { buildAgentCheck, buildCatalogCheck, buildNodeRegistration, buildService } from './registration.js';

const policy = { enableScriptChecks: false };

describe('registration refuses unpaired surrogates, naming the field', () => {
  it.each([
    ['a service Name', () => buildService({ Name: 'web\ud800' }), 'Name'],
    ['a service ID', () => buildService({ Name: 'web', ID: '\udc00' }), 'ID'],
    ['a tag', () => buildService({ Name: 'web', Tags: ['a', 'b\ud800'] }), 'Tags[1]'],
    ['a meta value', () => buildService({ Name: 'web', Meta: { k: '\ud800' } }), 'Meta.k'],
    ['a catalog service Name', () => buildService({ Name: '\ud800' }, 'Service'), 'Service.Name'],
    ['a node', () => buildNodeRegistration({ Node: 'n\ud800', Address: '10.0.0.1' }), 'Node'],
    ['a node meta value', () => buildNodeRegistration({ Node: 'n', Address: '10.0.0.1', NodeMeta: { k: '\ud800' } }), 'NodeMeta.k'],
    ['an agent check ID', () => buildAgentCheck({ Name: 'c', CheckID: '\ud800', TTL: '5s' }, 'n', undefined, policy), 'CheckID'],
    ['an agent check Name', () => buildAgentCheck({ Name: 'c\ud800', TTL: '5s' }, 'n', undefined, policy), 'Name'],
    ['a catalog check ID', () => buildCatalogCheck({ CheckID: '\ud800' }, 'n', 'Checks[0]'), 'Checks[0].CheckID'],
  ])('%s', (_what, build, field) => {
    expect(build).toThrow(
      expect.objectContaining({ code: 'BEACON_ERR_VALIDATION', field, message: `Invalid ${field}: contains an unpaired UTF-16 surrogate` }) as Error,
    );
  });

  it('takes surrogate pairs', () => {
    expect(buildService({ Name: 'web😀', Tags: ['💥'], Meta: { k: '😀' } })).toMatchObject({ ID: 'web😀', Tags: ['💥'], Meta: { k: '😀' } });
  });
});
