/**
 * Answers built from pre-encoded fragments are byte-identical to JSON.stringify of the object
 * form the routes built before (kept below as the reference), across varied records.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../test/helpers/prng.js';
import type { CheckDefinition, CheckRecord, Indexed, InstanceView, NodeRecord, ServiceRecord } from '../../catalog/index.js';
import { formatDuration } from '../../config/index.js';
import { agentServiceJson, checkJson, encodeAnswer, encodeJson, healthEntryJson, nodeJson, nodeServiceJson, serviceNodeJson } from './serialize.js';

// ---- the reference: the object form, built afresh on every call -----------------------------

const ref = {
  node: (n: Indexed<NodeRecord>) => {
    const r = n.record;
    return {
      ID: r.ID,
      Node: r.Node,
      Address: r.Address,
      Datacenter: r.Datacenter,
      TaggedAddresses: r.TaggedAddresses,
      Meta: r.Meta,
      CreateIndex: n.createIndex,
      ModifyIndex: n.modifyIndex,
    };
  },
  agentService: (s: Indexed<ServiceRecord>, datacenter: string) => {
    const r = s.record;
    return {
      ...(r.Kind ? { Kind: r.Kind } : {}),
      ID: r.ID,
      Service: r.Service,
      Tags: r.Tags,
      Meta: r.Meta,
      Port: r.Port,
      Address: r.Address,
      ...(Object.keys(r.TaggedAddresses).length ? { TaggedAddresses: r.TaggedAddresses } : {}),
      Weights: r.Weights,
      EnableTagOverride: r.EnableTagOverride,
      Datacenter: datacenter,
      CreateIndex: s.createIndex,
      ModifyIndex: s.modifyIndex,
    };
  },
  nodeService: (s: Indexed<ServiceRecord>) => {
    const r = s.record;
    return {
      ...(r.Kind ? { Kind: r.Kind } : {}),
      ID: r.ID,
      Service: r.Service,
      Tags: r.Tags,
      Address: r.Address,
      TaggedAddresses: r.TaggedAddresses,
      Meta: r.Meta,
      Port: r.Port,
      Weights: r.Weights,
      EnableTagOverride: r.EnableTagOverride,
      Proxy: { Mode: '', MeshGateway: {}, Expose: {} },
      Connect: {},
      CreateIndex: s.createIndex,
      ModifyIndex: s.modifyIndex,
    };
  },
  serviceNode: (i: InstanceView) => {
    const n = i.node.record;
    const r = i.service.record;
    return {
      ID: n.ID,
      Node: n.Node,
      Address: n.Address,
      Datacenter: n.Datacenter,
      TaggedAddresses: n.TaggedAddresses,
      NodeMeta: n.Meta,
      ServiceKind: r.Kind,
      ServiceID: r.ID,
      ServiceName: r.Service,
      ServiceTags: r.Tags,
      ServiceAddress: r.Address,
      ServiceTaggedAddresses: r.TaggedAddresses,
      ServiceWeights: r.Weights,
      ServiceMeta: r.Meta,
      ServicePort: r.Port,
      ServiceSocketPath: '',
      ServiceEnableTagOverride: r.EnableTagOverride,
      ServiceProxy: { Mode: '', MeshGateway: {}, Expose: {} },
      ServiceConnect: {},
      CreateIndex: i.service.createIndex,
      ModifyIndex: i.service.modifyIndex,
    };
  },
  definition: (c: CheckRecord) => {
    const d = c.Definition;
    const out: Record<string, unknown> = {};
    if (d.HTTP) {
      out.HTTP = d.HTTP;
      out.Method = d.Method ?? '';
      out.Header = d.Header ?? {};
      out.Body = d.Body ?? '';
      out.TLSSkipVerify = d.TLSSkipVerify ?? false;
    }
    if (d.TCP) out.TCP = d.TCP;
    if (d.GRPC) {
      out.GRPC = d.GRPC;
      out.GRPCUseTLS = d.GRPCUseTLS ?? false;
      if (d.TLSSkipVerify) out.TLSSkipVerify = true;
    }
    if (d.TLSServerName) out.TLSServerName = d.TLSServerName;
    if (d.Args) out.ScriptArgs = d.Args;
    if (d.IntervalMs !== undefined) out.Interval = formatDuration(d.IntervalMs);
    if (d.TimeoutMs !== undefined) out.Timeout = formatDuration(d.TimeoutMs);
    if (d.TTLMs !== undefined) out.TTL = formatDuration(d.TTLMs);
    if (d.DeregisterCriticalServiceAfterMs !== undefined) out.DeregisterCriticalServiceAfter = formatDuration(d.DeregisterCriticalServiceAfterMs);
    return out;
  },
  check: (c: Indexed<CheckRecord>) => {
    const r = c.record;
    const d = r.Definition;
    return {
      Node: r.Node,
      CheckID: r.CheckID,
      Name: r.Name,
      Status: r.Status,
      Notes: r.Notes,
      Output: r.Output,
      ServiceID: r.ServiceID,
      ServiceName: r.ServiceName,
      ServiceTags: r.ServiceTags,
      Type: r.Type,
      Interval: d.IntervalMs !== undefined ? formatDuration(d.IntervalMs) : '',
      Timeout: d.TimeoutMs !== undefined ? formatDuration(d.TimeoutMs) : '',
      ExposedPort: 0,
      Definition: ref.definition(r),
      CreateIndex: c.createIndex,
      ModifyIndex: c.modifyIndex,
    };
  },
  healthEntry: (i: InstanceView) => {
    return { Node: ref.node(i.node), Service: ref.nodeService(i.service), Checks: i.checks.map(ref.check) };
  },
};

// ---- varied records ---------------------------------------------------------------------------

const STRINGS = [
  '',
  'web',
  'zürich-✓',
  '日本語のサービス',
  'emoji 🚀🧪',
  'quote " back\\slash',
  'ctl \u0000\u0001\u001f tab\t nl\n',
  'line\u2028sep\u2029',
  'lone \ud800 surrogate',
  '</script>',
  'a'.repeat(300),
];
let rev = 1;
const indexed = <T>(record: T): Indexed<T> => {
  const createIndex = rev++;
  return { record, createIndex, modifyIndex: createIndex + (rev % 3) };
};

function pick<T>(rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)];
}
function strMap(rnd: () => number, n: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let k = 0; k < n; k++) out[k % 3 === 2 ? String(k) : `${pick(rnd, STRINGS)}${k}`] = pick(rnd, STRINGS);
  return out;
}

function nodeRecord(rnd: () => number, name: string): NodeRecord {
  return {
    ID: `0b5d3e8e-0000-4000-8000-${String(rev).padStart(12, '0')}`,
    Node: name,
    Address: '10.1.2.3',
    Datacenter: 'dc1',
    TaggedAddresses: rnd() < 0.5 ? {} : { lan: '10.1.2.3', wan: '203.0.113.9', lan_ipv6: '::1' },
    Meta: strMap(rnd, Math.floor(rnd() * 4)),
  };
}

function serviceRecord(rnd: () => number, id: string): ServiceRecord {
  return {
    ID: id,
    Service: pick(rnd, ['web', 'zürich-✓', 'db']),
    Tags: rnd() < 0.3 ? [] : [pick(rnd, STRINGS), 'v2', pick(rnd, STRINGS)],
    Address: rnd() < 0.5 ? '' : '192.0.2.7',
    TaggedAddresses: rnd() < 0.5 ? {} : { lan_ipv4: { Address: '10.0.0.1', Port: 8080 }, wan: { Address: '2001:db8::1', Port: 443 } },
    Meta: strMap(rnd, Math.floor(rnd() * 4)),
    Port: Math.floor(rnd() * 65536),
    Weights: rnd() < 0.5 ? { Passing: 1, Warning: 1 } : { Passing: 10, Warning: 0 },
    EnableTagOverride: rnd() < 0.2,
    Kind: rnd() < 0.2 ? 'connect-proxy' : '',
  };
}

function definition(rnd: () => number): CheckDefinition {
  switch (Math.floor(rnd() * 7)) {
    case 0:
      return {};
    case 1:
      return {
        HTTP: 'https://127.0.0.1:8443/health?x=ü',
        Method: 'POST',
        Header: { 'X-Token': ['a', 'b'], Accept: [] },
        Body: '{"q":"✓"}',
        TLSSkipVerify: true,
        TLSServerName: 'svc.local',
        IntervalMs: 10_000,
        TimeoutMs: 1500,
        DeregisterCriticalServiceAfterMs: 90 * 60_000,
      };
    case 2:
      return { HTTP: 'http://10.0.0.1/h', IntervalMs: 250, TimeoutMs: 0.5 };
    case 3:
      return { TCP: '10.0.0.1:5432', IntervalMs: 3_723_004, TimeoutMs: 2000 };
    case 4:
      return { GRPC: '10.0.0.1:9000/svc', GRPCUseTLS: true, TLSSkipVerify: rnd() < 0.5, IntervalMs: 5000 };
    case 5:
      return { Args: ['/bin/check', '--name', 'zürich'], IntervalMs: 30_000, TimeoutMs: 10_000, SuccessBeforePassing: 2, FailuresBeforeCritical: 3 };
    default:
      return { TTLMs: 15_000, DeregisterCriticalServiceAfterMs: 60_000, LocalScript: true };
  }
}

function checkRecord(rnd: () => number, node: string, id: string, svc: ServiceRecord | undefined): CheckRecord {
  return {
    Node: node,
    CheckID: id,
    Name: pick(rnd, STRINGS) || id,
    Status: pick(rnd, ['passing', 'warning', 'critical'] as const),
    Notes: pick(rnd, STRINGS),
    Output: pick(rnd, STRINGS),
    ServiceID: svc?.ID ?? '',
    ServiceName: svc?.Service ?? '',
    ServiceTags: svc?.Tags ?? [],
    Type: pick(rnd, ['ttl', 'http', 'tcp', 'grpc', 'script', 'serf', 'maintenance', ''] as const),
    Definition: definition(rnd),
  };
}

function instances(seed: number, count: number): InstanceView[] {
  const rnd = seededRandom(seed);
  const out: InstanceView[] = [];
  for (let k = 0; k < count; k++) {
    const name = `${pick(rnd, STRINGS)}node-${k}`;
    const node = indexed(nodeRecord(rnd, name));
    const service = indexed(serviceRecord(rnd, `${pick(rnd, STRINGS)}-${k}`));
    const checks: Indexed<CheckRecord>[] = [];
    const nChecks = Math.floor(rnd() * 4);
    for (let c = 0; c < nChecks; c++) checks.push(indexed(checkRecord(rnd, name, `chk-${k}-${c}`, c === 0 && rnd() < 0.5 ? undefined : service.record)));
    out.push({ node, service, checks, status: 'passing' });
  }
  return out;
}

// ---- tests -----------------------------------------------------------------------------------

describe('answers built from pre-encoded fragments', () => {
  const list = instances(1234, 200);

  it('every shape encodes byte-identically to JSON.stringify of the object form', () => {
    for (const i of list) {
      expect(encodeJson(nodeJson(i.node))).toBe(JSON.stringify(ref.node(i.node)));
      expect(encodeJson(nodeServiceJson(i.service))).toBe(JSON.stringify(ref.nodeService(i.service)));
      expect(encodeJson(agentServiceJson(i.service, 'dc1'))).toBe(JSON.stringify(ref.agentService(i.service, 'dc1')));
      expect(encodeJson(agentServiceJson(i.service, 'eu-wëst'))).toBe(JSON.stringify(ref.agentService(i.service, 'eu-wëst')));
      expect(encodeJson(serviceNodeJson(i))).toBe(JSON.stringify(ref.serviceNode(i)));
      expect(encodeJson(healthEntryJson(i))).toBe(JSON.stringify(ref.healthEntry(i)));
      for (const c of i.checks) expect(encodeJson(checkJson(c))).toBe(JSON.stringify(ref.check(c)));
      // The objects themselves hold the same data as the reference (what ?filter= sees).
      expect(healthEntryJson(i)).toEqual(ref.healthEntry(i));
      expect(serviceNodeJson(i)).toEqual(ref.serviceNode(i));
    }
  });

  it('the bodies routes build from them are byte-identical too', () => {
    const bodies: Array<[unknown, unknown]> = [
      // health/service, catalog/service (also empty and filtered), health/checks
      [list.map(healthEntryJson), list.map(ref.healthEntry)],
      [list.map(serviceNodeJson), list.map(ref.serviceNode)],
      [[], []],
      [list.map(healthEntryJson).filter((e) => e.Checks.length > 1), list.map(ref.healthEntry).filter((e) => e.Checks.length > 1)],
      [list.flatMap((i) => i.checks.map(checkJson)), list.flatMap((i) => i.checks.map(ref.check))],
      // catalog/nodes, catalog/node (and a missing one), agent/services, agent/checks
      [list.map((i) => nodeJson(i.node)), list.map((i) => ref.node(i.node))],
      [
        { Node: nodeJson(list[0].node), Services: Object.fromEntries(list.slice(0, 5).map((i) => [i.service.record.ID, nodeServiceJson(i.service)])) },
        { Node: ref.node(list[0].node), Services: Object.fromEntries(list.slice(0, 5).map((i) => [i.service.record.ID, ref.nodeService(i.service)])) },
      ],
      [null, null],
      [
        Object.fromEntries(list.map((i) => [i.service.record.ID, agentServiceJson(i.service, 'dc1')])),
        Object.fromEntries(list.map((i) => [i.service.record.ID, ref.agentService(i.service, 'dc1')])),
      ],
      [
        { AggregatedStatus: 'passing', Service: agentServiceJson(list[3].service, 'dc1'), Checks: list[3].checks.map(checkJson) },
        { AggregatedStatus: 'passing', Service: ref.agentService(list[3].service, 'dc1'), Checks: list[3].checks.map(ref.check) },
      ],
      // catalog/services, status/leader, status/peers, datacenters
      [
        { web: ['v2', 'zürich-✓'], db: [], '10': ['x'] },
        { web: ['v2', 'zürich-✓'], db: [], '10': ['x'] },
      ],
      ['127.0.0.1:8300', '127.0.0.1:8300'],
      [['127.0.0.1:8300'], ['127.0.0.1:8300']],
    ];
    for (const [built, reference] of bodies) {
      expect(encodeJson(built)).toBe(JSON.stringify(reference));
      const answer = encodeAnswer(built);
      expect(answer.text).toBe(JSON.stringify(reference));
      expect(answer.bytes).toBe(Buffer.byteLength(answer.text));
    }
  });

  it('encodes once per record: the same record gives the same frozen object', () => {
    const i = list[7];
    expect(healthEntryJson(i)).toBe(healthEntryJson({ ...i, checks: [...i.checks] }));
    expect(checkJson(i.checks[0] ?? indexed(checkRecord(seededRandom(1), 'n', 'c', undefined)))).toBeDefined();
    expect(nodeJson(i.node)).toBe(nodeJson(i.node));
    expect(Object.isFrozen(healthEntryJson(i))).toBe(true);
    expect(() => {
      (nodeJson(i.node) as { Node: string }).Node = 'changed';
    }).toThrow(TypeError);
  });

  it('a replaced node record, check record or check list gives a new entry', () => {
    const [i] = instances(99, 1);
    const base = i;
    const before = healthEntryJson(base);
    const node = indexed({ ...base.node.record, Meta: { moved: 'yes' } });
    const withNode = healthEntryJson({ ...base, node });
    expect(withNode).not.toBe(before);
    expect(encodeJson(withNode)).toBe(JSON.stringify(ref.healthEntry({ ...base, node })));
    const extra = indexed(checkRecord(seededRandom(5), base.node.record.Node, 'extra', base.service.record));
    const withCheck = { ...base, node, checks: [...base.checks, extra] };
    expect(encodeJson(healthEntryJson(withCheck))).toBe(JSON.stringify(ref.healthEntry(withCheck)));
    const without = { ...base, node, checks: [] };
    expect(encodeJson(healthEntryJson(without))).toBe(JSON.stringify(ref.healthEntry(without)));
    expect(encodeJson(serviceNodeJson({ ...base, node }))).toBe(JSON.stringify(ref.serviceNode({ ...base, node })));
  });
});

describe('encodeJson on any value', () => {
  it('matches JSON.stringify for values it does not know (random trees)', () => {
    const rnd = seededRandom(42);
    const leaf = (): unknown =>
      pick(rnd, [
        0,
        -0,
        1.5,
        1e21,
        NaN,
        Infinity,
        true,
        false,
        null,
        undefined,
        'x',
        pick(rnd, STRINGS),
        () => 1,
        Symbol('s'),
        new Date(0),
        { toJSON: () => ({ t: 1 }) },
        [],
      ]);
    const tree = (depth: number): unknown => {
      if (depth === 0 || rnd() < 0.3) return leaf();
      if (rnd() < 0.5) {
        const a: unknown[] = [];
        const n = Math.floor(rnd() * 4);
        for (let k = 0; k < n; k++) a.push(tree(depth - 1));
        if (rnd() < 0.1) a.length += 2; // holes
        return a;
      }
      const o: Record<string, unknown> = rnd() < 0.2 ? (Object.create(null) as Record<string, unknown>) : {};
      const n = Math.floor(rnd() * 4);
      for (let k = 0; k < n; k++) o[rnd() < 0.3 ? String(k * 7) : pick(rnd, STRINGS)] = tree(depth - 1);
      return o;
    };
    const known = instances(7, 3);
    for (let k = 0; k < 2000; k++) {
      const v = tree(4);
      expect(encodeJson(v)).toBe(JSON.stringify(v));
      const mixed = [v, healthEntryJson(known[k % 3]), { inner: v, check: known[0].checks[0] ? checkJson(known[0].checks[0]) : null }];
      expect(encodeJson(mixed)).toBe(JSON.stringify(mixed));
      const answer = encodeAnswer(mixed);
      expect(answer.bytes).toBe(Buffer.byteLength(answer.text));
      expect(encodeAnswer(v)).toEqual({ text: JSON.stringify(v) ?? 'null', bytes: Buffer.byteLength(JSON.stringify(v) ?? 'null') });
    }
  });
});
