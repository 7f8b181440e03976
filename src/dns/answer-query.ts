/**
 * Answers for `<query>.query.<domain>`: the instances a prepared query selected (in this
 * datacenter or the one it failed over to), as A/AAAA or SRV records under the same rules as
 * service answers: duplicate addresses or targets collapsed, SRV targets named in the
 * datacenter that answered, the query's DNS TTL or the service's.
 */
import type { HealthEntryLike } from '../cluster/index.js';
import { addressRecord, negative, positive, NOERROR, type AnswerContext, type BuildResult } from './answer-common.js';
import { target } from './answer-service.js';
import { encodeRecord, ownerName, QNAME_POINTER, type QuestionName } from './records.js';
import { TYPE } from './wire.js';

/** What a prepared query's run gives DNS. */
export interface QueryAnswer {
  entries: readonly (HealthEntryLike & { Checks: readonly { Status: string }[] })[];
  /** The datacenter that answered (SRV targets are named in it). */
  datacenter: string;
  /** The query's own TTL in seconds, undefined: the service's. */
  ttl: number | undefined;
}

export function queryAnswer(ctx: AnswerContext, domain: string, r: QueryAnswer, qtype: number, qn: QuestionName): BuildResult {
  if (r.entries.length === 0) return negative(ctx, NOERROR, domain, qn, []);
  const ttl = r.ttl ?? ctx.serviceTtl(r.entries[0].Service.Service);
  const answers: Buffer[] = [];
  const extras: (Buffer[] | undefined)[] = [];
  const seen = new Set<string>();
  const dcDomain = `${r.datacenter}.${domain}`;
  for (const e of r.entries) {
    if (qtype === TYPE.SRV) {
      const t = target(e.Service.Address, e.Node.Node, e.Node.Address, dcDomain);
      if (!t) continue;
      const key = `${t.name}:${e.Service.Port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const warning = e.Checks.some((c) => c.Status === 'warning');
      const weights = (e.Service as { Weights?: { Passing?: number; Warning?: number } }).Weights;
      const w = warning ? weights?.Warning : weights?.Passing;
      const weight = Number.isInteger(w) ? Math.min(Math.max(w as number, 0), 65535) : 1;
      answers.push(encodeRecord(QNAME_POINTER, ttl, { type: 'SRV', data: { priority: 1, weight, port: e.Service.Port & 0xffff, target: t.name } }));
      const glue = t.address !== undefined ? addressRecord(t.address, TYPE.ANY) : undefined;
      extras.push(glue ? [encodeRecord(ownerName(t.name, qn), ttl, glue)] : undefined);
      continue;
    }
    const address = e.Service.Address || e.Node.Address;
    if (seen.has(address)) continue;
    seen.add(address);
    const rec = addressRecord(address, qtype);
    if (rec) answers.push(encodeRecord(QNAME_POINTER, ttl, rec));
  }
  if (answers.length === 0) return negative(ctx, NOERROR, domain, qn, []);
  return qtype === TYPE.SRV ? positive(answers, [], { extras, shuffle: true }) : positive(answers, [], { shuffle: true, maxAnswers: ctx.config.aRecordLimit });
}
