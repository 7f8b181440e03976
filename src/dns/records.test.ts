import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { decode } from '../../test/helpers/dns-decode.js';
import { encodeRecord, isValidName, ownerName, txtStrings } from './records.js';

const qn = { labels: ['web', 'service', 'consul'], offsets: [0, 4, 12] };

describe('ownerName', () => {
  it('points at the longest shared suffix of the question', () => {
    expect(ownerName('web.service.consul.', qn)).toEqual(Buffer.from([0xc0, 12]));
    expect(ownerName('WEB.Service.consul', qn)).toEqual(Buffer.from([0xc0, 12]));
    expect(ownerName('consul.', qn)).toEqual(Buffer.from([0xc0, 12 + 12]));
    expect(ownerName('n1.node.dc1.consul.', qn)).toEqual(
      Buffer.concat([
        Buffer.from([2]),
        Buffer.from('n1'),
        Buffer.from([4]),
        Buffer.from('node'),
        Buffer.from([3]),
        Buffer.from('dc1'),
        Buffer.from([0xc0, 24]),
      ]),
    );
    expect(ownerName('example.com', qn)).toEqual(Buffer.from([7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0]));
  });

  it('makes records dns-packet decodes', () => {
    const question = dnsPacket.encode({ id: 1, type: 'response', questions: [{ name: 'web.service.consul', type: 'SRV' }] });
    const rr = encodeRecord(ownerName('n1.node.dc1.consul', qn), 5, { type: 'A', data: '10.0.0.1' });
    const msg = Buffer.concat([question, rr]);
    msg.writeUInt16BE(1, 6);
    expect(decode(msg).answers[0]).toMatchObject({ name: 'n1.node.dc1.consul', type: 'A', ttl: 5, data: '10.0.0.1' });
  });
});

describe('names and TXT', () => {
  it('validates label and name lengths', () => {
    expect(isValidName('a.b.consul.')).toBe(true);
    expect(isValidName(`${'a'.repeat(64)}.consul`)).toBe(false);
    expect(isValidName(Array(130).fill('a').join('.'))).toBe(false);
    expect(isValidName('')).toBe(false);
  });

  it('splits long TXT values into 255-byte strings', () => {
    expect(txtStrings('k=v')).toEqual([Buffer.from('k=v')]);
    const parts = txtStrings(`k=${'x'.repeat(600)}`);
    expect(parts.map((p) => p.length)).toEqual([255, 255, 92]);
    expect(txtStrings('')).toEqual([Buffer.alloc(0)]);
  });
});
