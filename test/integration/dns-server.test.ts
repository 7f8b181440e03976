/**
 * The DNS interface of the real `beacon server` process: flags from the command line,
 * registrations through the HTTP API (agent and catalog), answers asked with dig, forwarding
 * to --recursor over UDP and TCP, and the beacon_dns_* metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, ensureDig } from '../helpers/dns-dig.js';
import { startUpstream, type Upstream } from '../helpers/dns-upstream.js';
import { startServer, type RunningServer } from '../helpers/server.js';

let s: RunningServer;
let up: Upstream;
const q = (...args: string[]) => dig(s.dnsPort!, args);
const datas = (rs: { data: string }[]) => rs.map((r) => r.data).sort();

async function put(path: string, body: unknown): Promise<void> {
  const r = await fetch(`${s.httpUrl}${path}`, { method: 'PUT', body: JSON.stringify(body) });
  expect(r.status, `${path}: ${await r.clone().text()}`).toBe(200);
}

beforeAll(async () => {
  ensureDig();
  up = await startUpstream({ address: '192.0.2.44', records: 60, udpMax: 512 });
  s = await startServer({
    args: [
      '--alt-domain',
      'beacon.internal',
      '--recursor',
      `127.0.0.1:${up.port}`,
      '--dns-service-ttl',
      '5s,web=12s',
      '--dns-node-ttl',
      '0s',
      '--dns-a-record-limit',
      '4',
      '--dns-only-passing',
    ],
  });
  await put('/v1/catalog/register', {
    Node: 'n1',
    Address: '10.0.0.1',
    NodeMeta: { rack: 'r1' },
    Service: { Service: 'web', Tags: ['blue'], Port: 8001, Weights: { Passing: 7, Warning: 1 } },
  });
  await put('/v1/catalog/register', { Node: 'n2', Address: '2001:db8::2', Service: { Service: 'web', Port: 8002 } });
  await put('/v1/catalog/register', {
    Node: 'n3',
    Address: '10.0.0.3',
    Service: { Service: 'web', Port: 8003 },
    Check: { CheckID: 'w', Name: 'w', Status: 'warning', ServiceID: 'web' },
  });
  await put('/v1/agent/service/register', { Name: 'agent-svc', Port: 99, Address: '10.9.9.9' });
  for (let i = 0; i < 8; i++) await put('/v1/catalog/register', { Node: `m${i}`, Address: `10.1.0.${i}`, Service: { Service: 'many', Port: 1 } });
}, 60_000);

afterAll(async () => {
  await s?.stop();
  await up?.close();
});

describe('beacon server --dns-addr', () => {
  it('answers A, AAAA, SRV (weights, glue) and RFC 2782 names from HTTP registrations, with the TTL override', async () => {
    // --dns-only-passing: n3 (warning) is left out.
    expect(datas((await q('web.service.consul', 'A')).answer)).toEqual(['10.0.0.1']);
    expect((await q('web.service.dc1.consul', 'AAAA')).answer.map((a) => `${a.data} ${a.ttl}`)).toEqual(['2001:db8::2 12']);
    const srv = await q('_web._tcp.service.consul', 'SRV');
    expect(datas(srv.answer)).toEqual(['1 1 8002 n2.node.dc1.consul.', '1 7 8001 n1.node.dc1.consul.']);
    expect(srv.additional.map((a) => `${a.name} ${a.type} ${a.data}`).sort()).toEqual([
      'n1.node.dc1.consul. A 10.0.0.1',
      'n2.node.dc1.consul. AAAA 2001:db8::2',
    ]);
    expect(datas((await q('_web._blue.service.consul', 'SRV')).answer)).toEqual(['1 7 8001 n1.node.dc1.consul.']);
    expect(datas((await q('web.service.beacon.internal', 'ANY')).answer)).toEqual(['10.0.0.1', '2001:db8::2']);
    const agent = await q('agent-svc.service.consul', 'SRV');
    expect(agent.answer.map((a) => a.data)).toEqual(['1 1 99 0a090909.addr.dc1.consul.']);
    expect((await q('many.service.consul', 'A')).answer).toHaveLength(4);
  });

  it('answers node TXT, PTR, and negatives with the SOA', async () => {
    const txt = await q('n1.node.consul', 'TXT');
    expect(txt.answer.map((a) => `${a.data} ${a.ttl}`)).toEqual(['"rack=r1" 0']);
    expect((await q('-x', '10.0.0.1')).answer.map((a) => a.data)).toEqual(['n1.node.dc1.consul.']);
    const nx = await q('nope.service.consul', 'A');
    expect(nx.status).toBe('NXDOMAIN');
    expect(nx.authority[0]).toMatchObject({ type: 'SOA', ttl: 0 });
  });

  it('forwards outside names to --recursor: UDP over UDP, TCP over TCP', async () => {
    const udp = await q('out.example.com', 'A', '+bufsize=4096', '+ignore');
    expect(udp.answer).toHaveLength(60);
    const tcp = await q('out-tcp.example.com', 'A', '+tcp');
    expect(tcp.answer).toHaveLength(60);
    expect(up.log.filter((l) => l.q.startsWith('out.')).map((l) => l.transport)).toEqual(['udp', 'tcp']);
    expect(up.log.filter((l) => l.q.startsWith('out-tcp.')).map((l) => l.transport)).toEqual(['tcp']);
  });

  it('exports beacon_dns_* metrics', async () => {
    const text = await (await fetch(`${s.httpUrl}/v1/agent/metrics?format=prometheus`)).text();
    const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    expect(value(/^beacon_dns_queries_total\{transport="udp"\} (\d+)/m)).toBeGreaterThan(5);
    expect(value(/^beacon_dns_queries_total\{transport="tcp"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^beacon_dns_responses_total\{rcode="NXDOMAIN"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^beacon_dns_forwarded_total (\d+)/m)).toBe(2);
    expect(value(/^beacon_dns_forward_tcp_retries_total (\d+)/m)).toBe(1);
    expect(value(/^beacon_dns_forward_error_replies_total (\d+)/m)).toBe(0); // counted in dns-forward.test.ts
    expect(text).toMatch(/^beacon_dns_tcp_connections \d+/m);
  });
});
