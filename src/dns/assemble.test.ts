import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { decode } from '../../test/helpers/dns-decode.js';
import { assemble, finishAnswer, type CachedAnswer } from './assemble.js';
import { encodeRecord, ownerName, QNAME_POINTER } from './records.js';
import { keyLabelOffsets, keyLabels, parseQuery, udpLimit, type ParsedQuery } from './wire.js';

function query(name: string, type: dnsPacket.RecordType, edns?: number): { buf: Buffer; q: ParsedQuery } {
  const buf = dnsPacket.encode({
    id: 77,
    type: 'query',
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type }],
    additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: edns } as dnsPacket.Answer] : [],
  });
  const r = parseQuery(buf);
  if (r.kind !== 'query') throw new Error('not a query');
  return { buf, q: r.query };
}

function aEntry(n: number, opts: Partial<CachedAnswer> = {}): CachedAnswer {
  const answers = Array.from({ length: n }, (_, i) => encodeRecord(QNAME_POINTER, 5, { type: 'A', data: `10.0.${i >> 8}.${i & 255}` }));
  return finishAnswer({
    rcode: 0,
    authoritative: true,
    answers,
    extras: undefined,
    authority: [],
    additional: [],
    shuffle: true,
    maxAnswers: 0,
    topics: [],
    ...opts,
  });
}

describe('assemble', () => {
  it('answers everything that fits, with the question as the client wrote it', () => {
    const { buf, q } = query('WEB.service.consul', 'A');
    const out = assemble(aEntry(3), buf, q, 512, false, 512);
    expect(out.truncated).toBe(false);
    const d = decode(out.message);
    expect(d.id).toBe(77);
    expect(d.flag_aa).toBe(true);
    expect(d.flag_rd).toBe(true);
    expect(d.flag_tc).toBe(false);
    expect(d.questions[0]?.name).toBe('WEB.service.consul');
    expect(d.answers.map((a) => a.name)).toEqual(['WEB.service.consul', 'WEB.service.consul', 'WEB.service.consul']);
    expect(d.answers.map((a) => (a as { data: string }).data).sort()).toEqual(['10.0.0.0', '10.0.0.1', '10.0.0.2']);
  });

  it('trims to 512 bytes without EDNS and sets TC', () => {
    const { buf, q } = query('web.service.consul', 'A');
    const out = assemble(aEntry(40), buf, q, udpLimit(q.edns), false, 512);
    // 12 header + 24 question; each compressed A record is 16 bytes.
    const fit = Math.floor((512 - 12 - 24) / 16);
    expect(out.truncated).toBe(true);
    expect(out.message.length).toBeLessThanOrEqual(512);
    const d = decode(out.message);
    expect(d.flag_tc).toBe(true);
    expect(d.answers).toHaveLength(fit);
  });

  it('uses the EDNS size, echoes it, and reserves room for the OPT record', () => {
    const { buf, q } = query('web.service.consul', 'A', 1232);
    const limit = udpLimit(q.edns);
    const out = assemble(aEntry(100), buf, q, limit, false, limit);
    const d = decode(out.message);
    expect(out.message.length).toBeLessThanOrEqual(1232);
    expect(d.answers).toHaveLength(Math.floor((1232 - 12 - 24 - 11) / 16));
    expect(d.additionals[0]).toMatchObject({ type: 'OPT', udpPayloadSize: 1232 });
  });

  it('caps answers at maxAnswers without setting TC', () => {
    const { buf, q } = query('web.service.consul', 'A');
    const out = assemble(aEntry(10, { maxAnswers: 3 }), buf, q, 512, false, 512);
    expect(out.truncated).toBe(false);
    expect(decode(out.message).answers).toHaveLength(3);
  });

  it('shuffles on every call', () => {
    const { buf, q } = query('web.service.consul', 'A');
    const entry = aEntry(8);
    const orders = new Set<string>();
    for (let i = 0; i < 50; i++) {
      orders.add(
        decode(assemble(entry, buf, q, 512, false, 512).message)
          .answers.map((a) => (a as { data: string }).data)
          .join(','),
      );
    }
    expect(orders.size).toBeGreaterThan(10);
  });

  it('keeps SRV extras with their answer and sets RA when asked', () => {
    const { buf, q } = query('web.service.consul', 'SRV');
    const qn = { labels: keyLabels(q.key), offsets: keyLabelOffsets(q.key) };
    const answers: Buffer[] = [];
    const extras: Buffer[][] = [];
    for (let i = 0; i < 30; i++) {
      const target = `n${i}.node.dc1.consul`;
      answers.push(encodeRecord(QNAME_POINTER, 5, { type: 'SRV', data: { priority: 1, weight: 1, port: 8000 + i, target } }));
      extras.push([encodeRecord(ownerName(target, qn), 5, { type: 'A', data: `10.0.0.${i}` })]);
    }
    const entry = finishAnswer({ rcode: 0, authoritative: true, answers, extras, authority: [], additional: [], shuffle: true, maxAnswers: 0, topics: [] });
    const out = assemble(entry, buf, q, 512, true, 512);
    const d = decode(out.message);
    expect(out.truncated).toBe(true);
    expect(d.flag_ra).toBe(true);
    expect(d.answers.length).toBeGreaterThan(0);
    expect(d.additionals).toHaveLength(d.answers.length);
    for (const a of d.answers) {
      const srv = a as dnsPacket.SrvAnswer;
      const glue = d.additionals.find((x) => x.name === srv.data.target) as { data: string } | undefined;
      expect(glue?.data).toBe(`10.0.0.${srv.data.port - 8000}`);
    }
    const all = assemble(entry, buf, q, 65535, false, 512);
    expect(all.truncated).toBe(false);
    expect(decode(all.message).answers).toHaveLength(30);
  });
});
