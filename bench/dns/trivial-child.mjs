// Bench target (b): the trivial dns-packet responder. Decodes every query, looks the name up
// in a Map of the same records Beacon serves, encodes the answer. No cache, no shuffle, no
// truncation: the floor a Node DNS server built on dns-packet starts from.
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { DATACENTER, DOMAIN, NODES, NODE_TTL, SERVICES, SERVICE_TTL, addressOf } from './records.mjs';

const answers = new Map();
const add = (name, type) => {
  const k = `${name}|${type}`;
  if (!answers.has(k)) answers.set(k, { answers: [], additionals: [] });
  return answers.get(k);
};
for (const [service, nodes] of Object.entries(SERVICES)) {
  const name = `${service}.service.${DOMAIN}`;
  const a = add(name, 'A');
  const srv = add(name, 'SRV');
  for (const node of nodes) {
    a.answers.push({ name, type: 'A', ttl: SERVICE_TTL, data: addressOf(node) });
    const target = `${node}.node.${DATACENTER}.${DOMAIN}`;
    srv.answers.push({ name, type: 'SRV', ttl: SERVICE_TTL, data: { priority: 1, weight: 1, port: 8080, target } });
    srv.additionals.push({ name: target, type: 'A', ttl: SERVICE_TTL, data: addressOf(node) });
  }
}
for (const n of NODES) add(`${n.node}.node.${DOMAIN}`, 'A').answers.push({ name: `${n.node}.node.${DOMAIN}`, type: 'A', ttl: NODE_TTL, data: n.address });
const soa = {
  name: `${DOMAIN}`,
  type: 'SOA',
  ttl: 0,
  data: { mname: `ns.${DOMAIN}`, rname: `hostmaster.${DOMAIN}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 0 },
};

const sock = dgram.createSocket('udp4');
sock.on('message', (msg, rinfo) => {
  let q;
  try {
    q = dnsPacket.decode(msg);
  } catch {
    return;
  }
  const question = q.questions[0];
  if (!question) return;
  const hit = answers.get(`${question.name.toLowerCase()}|${question.type}`);
  const res = dnsPacket.encode({
    id: q.id,
    type: 'response',
    flags: dnsPacket.AUTHORITATIVE_ANSWER | (q.flags & dnsPacket.RECURSION_DESIRED),
    rcode: hit ? 'NOERROR' : 'NXDOMAIN',
    questions: q.questions,
    answers: hit ? hit.answers : [],
    authorities: hit ? [] : [soa],
    additionals: hit ? hit.additionals : [],
  });
  sock.send(res, rinfo.port, rinfo.address);
});
sock.bind(0, '127.0.0.1', () => process.stdout.write(`READY ${sock.address().port}\n`));
process.on('SIGTERM', () => sock.close(() => process.exit(0)));
