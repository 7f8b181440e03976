import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serviceId, serviceName, servicesFromFile } from './service-file.js';

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
    expect(() => servicesFromFile(bad)).toThrow(`${bad} is not valid JSON`);
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
