/**
 * Answers that are not about a service: `<node>.node` (address, TXT node metadata),
 * `<hex>.addr`, reverse PTR lookups, and the zone apex (SOA, NS).
 */
import type { Topic } from '../catalog/index.js';
import { addressRecord, isLabel, negative, positive, soaRecord, NOERROR, NXDOMAIN, type AnswerContext, type BuildResult } from './answer-common.js';
import type { NameQuery } from './names.js';
import { encodeRecord, isValidName, ownerName, QNAME_POINTER, txtStrings, type QuestionName } from './records.js';
import { TYPE } from './wire.js';

type Q<K extends NameQuery['kind']> = Extract<NameQuery, { kind: K }>;

export function nodeAnswer(ctx: AnswerContext, q: Q<'node'>, qtype: number, qn: QuestionName): BuildResult {
  const name = ctx.names.node(q.node);
  const view = name === undefined || (ctx.readable && !ctx.readable.node(name)) ? undefined : ctx.catalog.node(name).value;
  if (!view) return negative(ctx, NXDOMAIN, q.domain, qn, ['table:nodes']);
  const topics: Topic[] = [`node:${view.node.record.Node}`];
  const ttl = ctx.config.nodeTtl;
  const answers: Buffer[] = [];
  if (qtype === TYPE.TXT) {
    const meta = view.node.record.Meta ?? {};
    for (const k of Object.keys(meta).sort()) {
      answers.push(encodeRecord(QNAME_POINTER, ttl, { type: 'TXT', data: txtStrings(`${k}=${meta[k]}`) }));
    }
  } else {
    const rec = addressRecord(view.node.record.Address, qtype);
    if (rec) answers.push(encodeRecord(QNAME_POINTER, ttl, rec));
  }
  if (answers.length === 0) return negative(ctx, NOERROR, q.domain, qn, topics);
  return positive(answers, topics);
}

export function addrAnswer(ctx: AnswerContext, q: Q<'addr'>, qtype: number, qn: QuestionName): BuildResult {
  const rec = addressRecord(q.ip, qtype);
  if (!rec) return negative(ctx, NOERROR, q.domain, qn, []);
  return positive([encodeRecord(QNAME_POINTER, ctx.config.nodeTtl, rec)], []);
}

const PTR_TOPICS: readonly Topic[] = ['table:nodes', 'table:services'];

/** PTR for a known node address (`<node>.node.<dc>.<domain>`) or service address (`<service>.service.<dc>.<domain>`). */
export function ptrAnswer(ctx: AnswerContext, q: Q<'ptr'>, qtype: number, qn: QuestionName): BuildResult {
  const domain = ctx.config.domain;
  const forwardOr = (topics: readonly Topic[]): BuildResult => (ctx.config.recursors.length > 0 ? 'forward' : negative(ctx, NXDOMAIN, domain, qn, topics));
  if (q.ip === undefined) return forwardOr([]);
  const found = ctx.catalog.byAddress(q.ip);
  const names = new Set<string>();
  const r = ctx.readable;
  for (const n of found.nodes) if (isLabel(n.record.Node) && (!r || r.node(n.record.Node))) names.add(`${n.record.Node}.node.${ctx.datacenter}.${domain}`);
  for (const i of found.instances) {
    const svc = i.service.record.Service;
    if (isLabel(svc) && (!r || (r.service(svc) && r.node(i.node.record.Node)))) names.add(`${svc}.service.${ctx.datacenter}.${domain}`);
  }
  const valid = [...names].filter(isValidName);
  if (valid.length === 0) return forwardOr(PTR_TOPICS);
  if (qtype !== TYPE.PTR && qtype !== TYPE.ANY) return negative(ctx, NOERROR, domain, qn, PTR_TOPICS);
  const answers = valid.map((n) => encodeRecord(QNAME_POINTER, ctx.config.nodeTtl, { type: 'PTR', data: n }));
  return positive(answers, PTR_TOPICS);
}

/** The apex: SOA, NS (this server as `<node>.node.<dc>.<domain>` with its address as glue); ANY gives both. */
export function apexAnswer(ctx: AnswerContext, q: Q<'apex'>, qtype: number, qn: QuestionName): BuildResult {
  const soa = qtype === TYPE.SOA || qtype === TYPE.ANY;
  const ns = qtype === TYPE.NS || qtype === TYPE.ANY;
  if (!soa && !ns) return negative(ctx, NOERROR, q.domain, qn, []);
  const answers: Buffer[] = [];
  const additional: Buffer[] = [];
  const topics: Topic[] = [];
  if (soa) answers.push(soaRecord(ctx, q.domain, qn));
  const nsName = `${ctx.nodeName}.node.${ctx.datacenter}.${q.domain}`;
  if (ns && isLabel(ctx.nodeName) && isValidName(nsName)) {
    answers.push(encodeRecord(QNAME_POINTER, 0, { type: 'NS', data: nsName }));
    topics.push(`node:${ctx.nodeName}`);
    const glue = ctx.catalog.node(ctx.nodeName).value?.node.record.Address ?? ctx.fallbackGlue;
    const rec = glue ? addressRecord(glue, TYPE.ANY) : undefined;
    if (rec && rec.type !== 'CNAME') additional.push(encodeRecord(ownerName(nsName, qn), 0, rec));
  }
  if (answers.length === 0) return negative(ctx, NOERROR, q.domain, qn, topics);
  return positive(answers, topics, { additional });
}
