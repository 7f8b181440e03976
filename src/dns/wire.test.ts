import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { decode } from '../../test/helpers/dns-decode.js';
import { bareResponse, keyLabelOffsets, keyLabels, parseQuery, RCODE, RCODE_BADVERS, TYPE, udpLimit, type ParsedQuery } from './wire.js';

const query = (name: string, type: dnsPacket.RecordType = 'A', extra: Partial<dnsPacket.Packet> = {}) =>
  dnsPacket.encode({ id: 4242, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }], ...extra });

function parsed(buf: Buffer): ParsedQuery {
  const r = parseQuery(buf);
  if (r.kind !== 'query') throw new Error(`expected a query, got ${JSON.stringify(r)}`);
  return r.query;
}

describe('parseQuery', () => {
  it('reads id, type, class and a lower-cased key', () => {
    const q = parsed(query('Web.SERVICE.Consul', 'SRV'));
    expect(q.id).toBe(4242);
    expect(q.qtype).toBe(TYPE.SRV);
    expect(q.qclass).toBe(1);
    expect(keyLabels(q.key)).toEqual(['web', 'service', 'consul']);
    expect(q.key).toBe(parsed(query('web.service.consul', 'SRV')).key);
    expect(q.key).not.toBe(parsed(query('web.service.consul', 'A')).key);
    expect(q.edns).toBeUndefined();
    expect(q.questionEnd).toBe(12 + 20 + 4);
  });

  it('gives label offsets for compression pointers', () => {
    const q = parsed(query('web.service.consul'));
    expect(keyLabelOffsets(q.key)).toEqual([0, 4, 12]);
  });

  it('reads the EDNS0 OPT record: size, version, DO', () => {
    const buf = query('web.service.consul', 'A', {
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK } as dnsPacket.Answer],
    });
    const q = parsed(buf);
    expect(q.edns).toEqual({ size: 1232, version: 0, dnssecOk: true });
    expect(udpLimit(q.edns)).toBe(1232);
  });

  it('clamps the UDP size to 512..4096', () => {
    expect(udpLimit(undefined)).toBe(512);
    expect(udpLimit({ size: 100, version: 0, dnssecOk: false })).toBe(512);
    expect(udpLimit({ size: 65000, version: 0, dnssecOk: false })).toBe(4096);
  });

  it('drops what is not a query worth answering', () => {
    expect(parseQuery(Buffer.alloc(5)).kind).toBe('drop');
    const resp = dnsPacket.encode({ id: 1, type: 'response', questions: [{ name: 'a.consul', type: 'A' }] });
    expect(parseQuery(resp).kind).toBe('drop');
    expect(parseQuery(Buffer.alloc(5000)).kind).toBe('drop');
  });

  it('answers FORMERR for broken questions and NOTIMP for other opcodes', () => {
    const two = dnsPacket.encode({
      id: 7,
      type: 'query',
      questions: [
        { name: 'a.consul', type: 'A' },
        { name: 'b.consul', type: 'A' },
      ],
    });
    expect(parseQuery(two)).toMatchObject({ kind: 'error', id: 7, rcode: RCODE.FORMERR });
    const good = query('web.service.consul');
    expect(parseQuery(good.subarray(0, good.length - 3))).toMatchObject({ kind: 'error', rcode: RCODE.FORMERR });
    const pointer = Buffer.concat([good.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
    expect(parseQuery(pointer)).toMatchObject({ kind: 'error', rcode: RCODE.FORMERR });
    const notify = Buffer.from(good);
    notify.writeUInt16BE(4 << 11, 2);
    expect(parseQuery(notify)).toMatchObject({ kind: 'error', rcode: RCODE.NOTIMP });
  });

  it('refuses names over 255 bytes', () => {
    const labels: Buffer[] = [];
    for (let i = 0; i < 5; i++) labels.push(Buffer.from([60]), Buffer.alloc(60, 0x61));
    const name = Buffer.concat([...labels, Buffer.from([0])]);
    const buf = Buffer.concat([Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), name, Buffer.from([0, 1, 0, 1])]);
    expect(parseQuery(buf)).toMatchObject({ kind: 'error', rcode: RCODE.FORMERR });
  });

  it('refuses two OPT records', () => {
    const opt = { type: 'OPT', name: '.', udpPayloadSize: 1232 } as dnsPacket.Answer;
    expect(parseQuery(query('a.consul', 'A', { additionals: [opt, opt] }))).toMatchObject({ kind: 'error', rcode: RCODE.FORMERR });
  });
});

describe('bareResponse', () => {
  it('echoes the question and the OPT record', () => {
    const buf = query('Example.COM', 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 2000 } as dnsPacket.Answer] });
    const q = parsed(buf);
    const d = decode(bareResponse(buf, q.id, q.flags, RCODE.REFUSED, false, q));
    expect(d.id).toBe(4242);
    expect(d.rcode).toBe('REFUSED');
    expect(d.flag_rd).toBe(true);
    expect(d.flag_aa).toBe(false);
    expect(d.questions).toEqual([{ name: 'Example.COM', type: 'A', class: 'IN' }]);
    expect(d.additionals[0]).toMatchObject({ type: 'OPT', udpPayloadSize: 2000 });
  });

  it('puts BADVERS in the OPT extended rcode', () => {
    const buf = query('a.consul', 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as dnsPacket.Answer] });
    const q = parsed(buf);
    const out = bareResponse(buf, q.id, q.flags, RCODE_BADVERS, false, q);
    expect(out.readUInt16BE(2) & 0xf).toBe(0);
    expect(out[out.length - 11 + 5]).toBe(1);
  });

  it('answers with a bare header when the question could not be read', () => {
    const out = bareResponse(Buffer.alloc(12), 99, 0, RCODE.FORMERR, true);
    const d = decode(out);
    expect(d.id).toBe(99);
    expect(d.rcode).toBe('FORMERR');
    expect(d.flag_ra).toBe(true);
    expect(d.questions).toEqual([]);
  });
});
