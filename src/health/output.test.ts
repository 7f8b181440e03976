import { describe, expect, it } from 'vitest';
import { BoundedBuffer, capOutput, headBytes, outputCap } from './output.js';

describe('output limits', () => {
  it('caps at 4 KB, or at a smaller OutputMaxSize', () => {
    expect(outputCap(undefined)).toBe(4096);
    expect(outputCap(100)).toBe(100);
    expect(outputCap(1 << 20)).toBe(4096);
  });

  it('truncates TTL output as Consul does', () => {
    expect(capOutput('short', 10)).toBe('short');
    expect(capOutput('0123456789abc', 10)).toBe('0123456789 ... (captured 10 of 13 bytes)');
  });

  it('never cuts a UTF-8 character in half', () => {
    expect(headBytes('aé', 2)).toBe('a');
    expect(headBytes('aé', 3)).toBe('aé');
  });

  it('keeps the first bytes of a stream and counts the rest', () => {
    const b = new BoundedBuffer(4);
    b.push('ab');
    b.push(Buffer.from('cdef'));
    expect(b.full).toBe(true);
    expect(b.total).toBe(6);
    expect(b.text()).toBe('Captured 4 of 6 bytes\n...\nabcd');
    const small = new BoundedBuffer(10);
    small.push('hi');
    expect(small.text()).toBe('hi');
  });
});
