import { describe, expect, it } from 'vitest';
import { getHeader, withHost } from './headers.js';
import { serviceFromHost } from './service-host.js';

describe('serviceFromHost', () => {
  it('reads service names out of hosts', () => {
    expect(serviceFromHost('payments')).toEqual({ name: 'payments', dc: undefined });
    expect(serviceFromHost('Payments.service')).toEqual({ name: 'payments', dc: undefined });
    expect(serviceFromHost('payments.service.consul')).toEqual({ name: 'payments', dc: undefined });
    expect(serviceFromHost('payments.service.eu-1.consul')).toEqual({ name: 'payments', dc: 'eu-1' });
    expect(serviceFromHost('payments.service.beacon', 'beacon')).toEqual({ name: 'payments', dc: undefined });
  });

  it('leaves ordinary hosts alone', () => {
    for (const h of ['localhost', '127.0.0.1', '[::1]', '::1', 'example.com', 'api.example.com', 'payments.service.eu.other', 'a.b.c.d.e', 'bad_host-', '']) {
      expect(serviceFromHost(h)).toBeUndefined();
    }
  });
});

describe('header helpers', () => {
  it('read a header from every shape undici takes', () => {
    expect(getHeader({ 'X-Beacon-Hash-Key': 'u1' }, 'x-beacon-hash-key')).toBe('u1');
    expect(getHeader(['a', '1', 'x-beacon-hash-key', 'u2'], 'x-beacon-hash-key')).toBe('u2');
    expect(getHeader([['x-beacon-hash-key', 'u3']] as unknown as string[], 'x-beacon-hash-key')).toBe('u3');
    expect(getHeader(new Map([['x-beacon-hash-key', 'u4']]) as never, 'x-beacon-hash-key')).toBe('u4');
    expect(getHeader({ 'x-list': ['a', 'b'] }, 'x-list')).toBe('a');
    expect(getHeader(null, 'x')).toBeUndefined();
  });

  it('add a Host header unless there is one', () => {
    expect(withHost(undefined, 'payments')).toEqual({ host: 'payments' });
    expect(withHost({ a: '1' }, 'payments')).toEqual({ host: 'payments', a: '1' });
    expect(withHost({ Host: 'x' }, 'payments')).toEqual({ Host: 'x' });
    expect(withHost(['a', '1'], 'payments')).toEqual(['host', 'payments', 'a', '1']);
    expect(withHost(new Map([['a', '1']]) as never, 'payments')).toEqual(['host', 'payments', 'a', '1']);
  });
});
