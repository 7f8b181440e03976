import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CheckRecord, ServiceRecord } from '../catalog/index.js';
import { isBeaconError } from '../errors/index.js';
import { AgentState, STATE_FILE } from './state.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), 'beacon-agent-state-'));
  dirs.push(d);
  return d;
};

const svc: ServiceRecord = {
  ID: 'web-1',
  Service: 'web',
  Tags: ['v1'],
  Address: '',
  TaggedAddresses: {},
  Meta: {},
  Port: 80,
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: false,
  Kind: '',
};
const check = (id: string, status: CheckRecord['Status'] = 'critical'): CheckRecord => ({
  Node: 'h1',
  CheckID: id,
  Name: id,
  Status: status,
  Notes: '',
  Output: '',
  ServiceID: 'web-1',
  ServiceName: 'web',
  ServiceTags: ['v1'],
  Type: 'ttl',
  Definition: { TTLMs: 10_000 },
});

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isBeaconError(err)) return `${err.code}: ${err.message}`;
    throw err;
  }
  throw new Error('accepted');
}

describe('AgentState', () => {
  it('keeps services, checks and statuses across a restart', async () => {
    const d = dir();
    const a = new AgentState('h1', d);
    expect(await a.load()).toBe(false);
    a.putService(svc, [check('c1'), check('c2')], 'api', false);
    expect(a.setStatus('c1', 'passing', 'ok')).toBe(true);
    expect(a.setStatus('c1', 'passing', 'ok')).toBe(false);
    await a.save();
    const b = new AgentState('h1', d);
    expect(await b.load()).toBe(true);
    expect(b.node.ID).toBe(a.node.ID);
    expect([...b.services.keys()]).toEqual(['web-1']);
    expect(b.checks.get('c1')?.record).toMatchObject({ Status: 'passing', Output: 'ok' });
    // Registering the same check again keeps its status; replace removes the ones not listed.
    b.putService({ ...svc, Tags: ['v2'] }, [check('c1')], 'api', true);
    expect(b.checks.get('c1')?.record).toMatchObject({ Status: 'passing', ServiceTags: ['v2'] });
    expect(b.checks.has('c2')).toBe(false);
    expect(b.removeService('web-1')).toBe(true);
    expect(b.checks.size).toBe(0);
  });

  it('announces each change to the health subsystem', () => {
    const a = new AgentState('h1', null);
    const seen: string[] = [];
    a.onCheckChange({ changed: (cs) => seen.push(...cs.map((c) => `${c.checkId}:${c.check ? c.check.record.Status : 'gone'}`)), reloaded: () => undefined });
    a.putService(svc, [check('c1')], 'api', false);
    a.setStatus('c1', 'warning', '');
    a.removeCheck('c1');
    expect(seen).toEqual(['c1:critical', 'c1:warning', 'c1:gone']);
  });

  it('refuses a damaged state file, naming it', async () => {
    const d = dir();
    writeFileSync(join(d, STATE_FILE), '{"version":1,"services":[');
    expect(await refusal(new AgentState('h1', d).load())).toMatch(new RegExp(`^BEACON_ERR_STARTUP: the agent state file ${join(d, STATE_FILE)} is damaged`));
  });

  it('one agent per data dir: a live holder refuses, a dead one is taken over', async () => {
    const d = dir();
    writeFileSync(join(d, 'agent.lock'), String(process.ppid));
    expect(await refusal(new AgentState('h1', d).lock())).toMatch(/in use by another agent/);
    writeFileSync(join(d, 'agent.lock'), '2147483646');
    const s = new AgentState('h1', d);
    await s.lock();
    expect(readFileSync(join(d, 'agent.lock'), 'utf8')).toBe(String(process.pid));
    await s.unlock();
  });
});
