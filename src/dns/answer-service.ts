/**
 * Service answers: `[tag.]<service>.service` and `_<service>._<tag|tcp>` names.
 * Instances are those that are not critical (with onlyPassing: passing only), tag-filtered
 * case-insensitively, with duplicate addresses (A) or targets (SRV) collapsed.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { InstanceView, Topic } from '../catalog/index.js';
import { addressRecord, isLabel, negative, positive, NOERROR, NXDOMAIN, type AnswerContext, type BuildResult } from './answer-common.js';
import type { NameQuery } from './names.js';
import { ipToHex } from './names.js';
import { encodeRecord, isValidName, ownerName, QNAME_POINTER, type QuestionName } from './records.js';
import { TYPE } from './wire.js';

type ServiceQuery = Extract<NameQuery, { kind: 'service' }>;

/** Healthy instances of a service, filtered by tag (case-insensitive). */
export function healthyInstances(ctx: AnswerContext, service: string, tag: string | undefined): InstanceView[] {
  let all = ctx.catalog.instances(service, { healthFilter: ctx.config.onlyPassing ? 'passing' : 'not-critical' }).value;
  const readable = ctx.readable;
  if (readable) all = all.filter((i) => readable.node(i.node.record.Node));
  if (tag === undefined) return all;
  return all.filter((i) => i.service.record.Tags.some((t) => t.toLowerCase() === tag));
}

export function serviceAnswer(ctx: AnswerContext, q: ServiceQuery, qtype: number, qn: QuestionName): BuildResult {
  const found = ctx.names.service(q.service);
  // A service the DNS token may not read does not exist for DNS, as in Consul.
  const name = found !== undefined && ctx.readable && !ctx.readable.service(found) ? undefined : found;
  if (name === undefined) return negative(ctx, NXDOMAIN, q.domain, qn, ['table:services']);
  const topics: Topic[] = [`svc:${name}`];
  const instances = healthyInstances(ctx, name, q.tag);
  if (instances.length === 0) return negative(ctx, NOERROR, q.domain, qn, topics);
  const ttl = ctx.serviceTtl(name);
  if (qtype === TYPE.SRV) return srvAnswer(ctx, q, instances, ttl, qn, topics);
  const answers: Buffer[] = [];
  const seen = new Set<string>();
  for (const inst of instances) {
    const address = inst.service.record.Address || inst.node.record.Address;
    if (seen.has(address)) continue;
    seen.add(address);
    const rec = addressRecord(address, qtype);
    if (rec) answers.push(encodeRecord(QNAME_POINTER, ttl, rec));
  }
  if (answers.length === 0) return negative(ctx, NOERROR, q.domain, qn, topics);
  return positive(answers, topics, { shuffle: true, maxAnswers: ctx.config.aRecordLimit });
}

function srvAnswer(ctx: AnswerContext, q: ServiceQuery, instances: InstanceView[], ttl: number, qn: QuestionName, topics: Topic[]): BuildResult {
  const answers: Buffer[] = [];
  const extras: (Buffer[] | undefined)[] = [];
  const seen = new Set<string>();
  const dcDomain = `${ctx.datacenter}.${q.domain}`;
  for (const inst of instances) {
    const svc = inst.service.record;
    const node = inst.node.record;
    const t = target(svc.Address, node.Node, node.Address, dcDomain);
    if (!t) continue;
    const key = `${t.name}:${svc.Port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const w = inst.status === 'warning' ? svc.Weights?.Warning : svc.Weights?.Passing;
    const weight = Number.isInteger(w) ? Math.min(Math.max(w, 0), 65535) : 1;
    answers.push(
      encodeRecord(QNAME_POINTER, ttl, {
        type: 'SRV',
        data: { priority: 1, weight, port: svc.Port & 0xffff, target: t.name },
      }),
    );
    const glue = t.address !== undefined ? addressRecord(t.address, TYPE.ANY) : undefined;
    extras.push(glue ? [encodeRecord(ownerName(t.name, qn), ttl, glue)] : undefined);
  }
  if (answers.length === 0) return negative(ctx, NOERROR, q.domain, qn, topics);
  return positive(answers, topics, { extras, shuffle: true });
}

/**
 * SRV target: `<hex>.addr.<dc>.<domain>` when the service has its own IP address, the host name
 * when it has a host name, else `<node>.node.<dc>.<domain>` (hex address when the node name is
 * not a DNS label). `address` is what the additional section resolves the target to.
 */
export function target(serviceAddress: string, node: string, nodeAddress: string, dcDomain: string): { name: string; address: string | undefined } | undefined {
  if (serviceAddress && (isIPv4(serviceAddress) || isIPv6(serviceAddress))) {
    return { name: `${ipToHex(serviceAddress)}.addr.${dcDomain}`, address: serviceAddress };
  }
  if (serviceAddress) return isValidName(serviceAddress) ? { name: serviceAddress, address: undefined } : undefined;
  if (isLabel(node) && isValidName(`${node}.node.${dcDomain}`)) return { name: `${node}.node.${dcDomain}`, address: nodeAddress };
  const hex = ipToHex(nodeAddress);
  return hex ? { name: `${hex}.addr.${dcDomain}`, address: nodeAddress } : undefined;
}
