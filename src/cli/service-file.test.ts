import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serviceId, serviceName, servicesFromFile, unknownKey } from './service-file.js';

const dir = mkdtempSync(join(tmpdir(), 'beacon-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('servicesFromFile', () => {
  it('reads a bare definition, {"service": {...}} and {"services": [...]}', () => {
    expect(servicesFromFile(file('bare.json', '{"Name":"web","Port":8080}'))).toEqual([{ Name: 'web', Port: 8080 }]);
    expect(servicesFromFile(file('one.json', '{"service":{"name":"web","port":8080}}'))).toEqual([{ name: 'web', port: 8080 }]);
    expect(servicesFromFile(file('many.json', '{"Services":[{"name":"a"},{"name":"b","id":"b-1"}]}'))).toEqual([{ name: 'a' }, { name: 'b', id: 'b-1' }]);
  });

  it('names the file when it cannot be read or is not a definition', () => {
    const missing = join(dir, 'missing.json');
    expect(() => servicesFromFile(missing)).toThrow(`cannot read ${missing}: ENOENT`);
    const bad = file('bad.json', '{"Name": ');
    expect(() => servicesFromFile(bad)).toThrow(`${bad}:1:10: invalid JSON: Unexpected end of JSON input`);
    const arr = file('arr.json', '[1]');
    expect(() => servicesFromFile(arr)).toThrow(`${arr} must hold a JSON object`);
    const empty = file('empty.json', '{"services":[]}');
    expect(() => servicesFromFile(empty)).toThrow(`${empty} defines no service`);
    const notObj = file('notobj.json', '{"services":["web"]}');
    expect(() => servicesFromFile(notObj)).toThrow(`${notObj}: services[0] must be an object`);
  });
});

describe('serviceName and serviceId', () => {
  it('match keys in any case, and the ID defaults to the name as on the server', () => {
    expect(serviceName({ NAME: 'web' })).toBe('web');
    expect(serviceId({ name: 'web' })).toBe('web');
    expect(serviceId({ Name: 'web', ID: 'web-1' })).toBe('web-1');
    expect(serviceId({ Name: 'web', id: '' })).toBe('web');
    expect(serviceName({ Port: 1 })).toBe('');
  });
});

describe('a file with a mistake', () => {
  it('says where JSON breaks, by line and column', () => {
    const trailing = file('trailing.json', '{\n  "Name": "web",\n  "Port": 8080,\n}\n');
    expect(() => servicesFromFile(trailing)).toThrow(`${trailing}:4:1: invalid JSON: Expected double-quoted property name`);
    const comma = file('comma.json', '{\n  "Name": "web"\n  "Port": 8080\n}');
    expect(() => servicesFromFile(comma)).toThrow(`${comma}:3:3: invalid JSON: Expected ',' or '}' after property value`);
    // V8 gives no position for this one: found by parsing prefixes.
    const literal = file('literal.json', '{\n "Name": "web",\n "EnableTagOverride": tru}');
    expect(() => servicesFromFile(literal)).toThrow(`${literal}:3:26: invalid JSON: Unexpected token '}'`);
  });

  it('refuses keys next to "service" or "services", and both together', () => {
    const extra = file('extra.json', '{"datacenter": "dc1", "services": [{"Name": "web"}]}');
    expect(() => servicesFromFile(extra)).toThrow(`${extra}: unknown key "datacenter" next to "services"`);
    const both = file('both.json', '{"service": {"Name": "a"}, "services": [{"Name": "b"}]}');
    expect(() => servicesFromFile(both)).toThrow(`${both}: give either "service" or "services", not both`);
    const notList = file('notlist.json', '{"services": {"Name": "b"}}');
    expect(() => servicesFromFile(notList)).toThrow(`${notList}: "services" must be an array`);
  });
});

describe('unknownKey', () => {
  const SHAPE = { fields: ['Name', 'Port', 'Check', 'Meta'], nested: { Check: { fields: ['TTL', 'HTTP', 'Interval'] } } };

  it('finds a misspelled key, nested ones too, with the field it most likely meant', () => {
    expect(unknownKey({ Name: 'web', Chek: { TTL: '30s' } }, SHAPE)).toEqual({ path: 'Chek', suggestion: 'Check' });
    expect(unknownKey({ name: 'web', check: { http: 'x', intervl: '10s' } }, SHAPE)).toEqual({ path: 'check.intervl', suggestion: 'Interval' });
    expect(unknownKey({ Name: 'web', Colour: 'blue' }, SHAPE)).toEqual({ path: 'Colour', suggestion: undefined });
  });

  it('takes keys in any case and with underscores, and leaves user maps alone', () => {
    expect(unknownKey({ NAME: 'web', port: 1, CHECK: { ttl: '1s' }, Meta: { anything: 'x' } }, SHAPE)).toBeUndefined();
    expect(unknownKey({ na_me: 'web' }, SHAPE)).toBeUndefined();
  });
});
