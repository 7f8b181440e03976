import { describe, expect, it } from 'vitest';
import { isBeaconError } from '../../errors/index.js';
import { isWatchablePath, parseAgentMessage } from './agent-protocol.js';

function refused(text: string): { code: string; field: string | undefined; message: string } {
  try {
    parseAgentMessage(text);
  } catch (err) {
    if (!isBeaconError(err)) throw err;
    return { code: err.code, field: err.field, message: err.message };
  }
  throw new Error(`accepted: ${text}`);
}

const hello = { op: 'hello', v: 1, node: { Node: 'host-1', Address: '10.0.0.1', Meta: { rack: 'a' } }, ttl: 10 };

describe('agent stream messages', () => {
  it('accepts the messages of the protocol', () => {
    expect(parseAgentMessage(JSON.stringify(hello))).toMatchObject({ op: 'hello', ttl: 10, node: { Node: 'host-1', ID: '', TaggedAddresses: {} } });
    expect(parseAgentMessage('{"op":"watch","id":3,"path":"/v1/health/service/web?passing&tag=v2","index":0}')).toEqual({
      op: 'watch',
      id: 3,
      path: '/v1/health/service/web?passing&tag=v2',
      index: 0,
    });
    expect(parseAgentMessage('{"op":"unwatch","id":3}')).toEqual({ op: 'unwatch', id: 3 });
    expect(parseAgentMessage('{"op":"status","seq":1,"checkId":"c","status":"warning"}')).toEqual({
      op: 'status',
      seq: 1,
      checkId: 'c',
      status: 'warning',
      output: '',
    });
    expect(parseAgentMessage('{"op":"sync","seq":2,"services":[{"service":{"Service":"web"},"checks":[]}],"checks":[]}')).toMatchObject({ op: 'sync' });
  });

  it.each([
    ['not json', 'message'],
    ['[1]', 'message'],
    ['{"op":"dance"}', 'op'],
    [JSON.stringify({ ...hello, v: 2 }), 'v'],
    [JSON.stringify({ ...hello, node: { Node: 'has space', Address: 'x' } }), 'node.Node'],
    [JSON.stringify({ ...hello, ttl: 1 }), 'ttl'],
    [JSON.stringify({ ...hello, ttl: 1.5 }), 'ttl'],
    [JSON.stringify({ ...hello, node: { ...hello.node, Meta: { a: 1 } } }), 'node.Meta.a'],
    ['{"op":"watch","id":1,"path":"/v1/agent/self","index":0}', 'path'],
    ['{"op":"watch","id":1,"path":"/v1/kv/x","index":0}', 'path'],
    ['{"op":"watch","id":1,"path":"/v1/health/service/web?index=4","index":0}', 'path'],
    ['{"op":"watch","id":1,"path":"/v1/health/service/web?consistent","index":0}', 'path'],
    [`{"op":"watch","id":1,"path":"/v1/health/service/${'x'.repeat(3000)}","index":0}`.slice(0, 4000), 'path'],
    ['{"op":"watch","id":-1,"path":"/v1/catalog/services","index":0}', 'id'],
    ['{"op":"watch","id":1,"path":"/v1/catalog/services","index":"5"}', 'index'],
    ['{"op":"status","seq":1,"checkId":"c","status":"ok"}', 'status'],
    ['{"op":"sync","seq":1,"services":{},"checks":[]}', 'services'],
    ['{"op":"sync","seq":1,"services":[{"service":1,"checks":[]}],"checks":[]}', 'services[0]'],
    ['{"op":"sync","seq":1,"services":[],"checks":[1]}', 'checks'],
  ])('refuses message %# (naming %s)', (text, field) => {
    const r = refused(text);
    expect(r.code).toBe('BEACON_ERR_AGENT_PROTOCOL');
    expect(r.field).toBe(field);
    expect(r.message.startsWith(`${field}:`)).toBe(true);
  });

  it('watches only catalog, health and status reads', () => {
    expect(isWatchablePath('/v1/health/service/web')).toBe(true);
    expect(isWatchablePath('/v1/catalog/node/n1')).toBe(true);
    expect(isWatchablePath('/v1/status/leader')).toBe(true);
    expect(isWatchablePath('/v1/health/service/')).toBe(false);
    expect(isWatchablePath('/v1/health/service/a/b')).toBe(false);
    expect(isWatchablePath('/v1/agent/services')).toBe(false);
  });
});
