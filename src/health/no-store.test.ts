/**
 * Health with no store at all: the check source, the status sink and the sessions are plain
 * objects in memory (memory-deps.test-suite.ts), as the per-host agent will pass its own. Every
 * test runs on the fake clock, so timings are asserted exactly.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CheckDefinition, CheckRecord, CheckType } from '../catalog/index.js';
import { buildConfig } from '../config/index.js';
import { isBeaconError } from '../errors/index.js';
import { ALIVE_OUTPUT, DEAD_OUTPUT, SERF_CHECK_ID } from './liveness.js';
import { HealthManager } from './manager.js';
import { MemoryChecks, MemorySessions } from './memory-deps.test-suite.js';
import type { HealthOptions } from './types.js';

const NODE = 'agent-1';
const quiet = { info() {}, warn() {}, error() {}, debug() {} };

const chk = (node: string, id: string, serviceId: string, type: CheckType, def: CheckDefinition, status: CheckRecord['Status'] = 'critical'): CheckRecord => ({
  Node: node,
  CheckID: id,
  Name: id,
  Status: status,
  Notes: '',
  Output: '',
  ServiceID: serviceId,
  ServiceName: serviceId ? 'web' : '',
  ServiceTags: [],
  Type: type,
  Definition: def,
});
const serf = (node: string, status: CheckRecord['Status'] = 'passing'): CheckRecord => ({
  ...chk(node, SERF_CHECK_ID, '', '', {}, status),
  Name: 'Serf Health Status',
  Output: status === 'passing' ? ALIVE_OUTPUT : DEAD_OUTPUT,
});

let checks: MemoryChecks;
let sessions: MemorySessions;
let health: HealthManager;

async function start(options: Partial<HealthOptions> = {}): Promise<HealthManager> {
  health = new HealthManager({
    source: checks,
    sink: checks,
    sessions,
    config: buildConfig({ node: NODE }),
    logger: quiet,
    options: { sessionTtlSeconds: 3, reaperTickMs: 1000, reapFloorMs: 1000, ...options },
  });
  await health.start();
  return health;
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.spyOn(Math, 'random').mockReturnValue(0.5); // no jitter: every delay is its nominal value
  checks = new MemoryChecks();
  sessions = new MemorySessions();
  checks.put(serf(NODE));
});

afterEach(async () => {
  await health?.stop();
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('health with no store', () => {
  it('drives a TTL check: heartbeats write only changes, silence turns it critical at the TTL', async () => {
    await start();
    checks.put(chk(NODE, 'service:web-1', 'web-1', 'ttl', { TTLMs: 10_000 }));
    await health.api.updateTtl(NODE, 'service:web-1', 'passing', 'ok');
    for (let i = 0; i < 100; i++) await health.api.updateTtl(NODE, 'service:web-1', 'passing', 'ok');
    expect(checks.writes).toEqual([{ node: NODE, checkId: 'service:web-1', status: 'passing', output: 'ok' }]);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(checks.check(NODE, 'service:web-1')!.record.Status).toBe('passing');
    await vi.advanceTimersByTimeAsync(1);
    expect(checks.writes.at(-1)).toEqual({
      node: NODE,
      checkId: 'service:web-1',
      status: 'critical',
      output: 'TTL expired (last output before timeout follows): ok',
    });
    expect(checks.writes).toHaveLength(2);
  });

  it('an expiry the sink could not take is written once it can (the instance never stays passing)', async () => {
    await start();
    checks.put(chk(NODE, 't', 'web-1', 'ttl', { TTLMs: 5_000 }, 'passing'));
    checks.failNext = 2;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(checks.check(NODE, 't')!.record.Status).toBe('passing');
    // Retried after 1 s (fails again), then 2 s later it lands.
    await vi.advanceTimersByTimeAsync(3_000);
    expect(checks.check(NODE, 't')!.record).toMatchObject({ Status: 'critical', Output: 'TTL expired' });
  });

  it('follows the source: a new check runs, a deleted one stops, a re-list reconciles', async () => {
    await start();
    expect(checks.listening).toBe(1);
    checks.put(chk(NODE, 'a', 'web-1', 'ttl', { TTLMs: 1_000 }));
    checks.put(chk(NODE, 'b', 'web-1', 'ttl', { TTLMs: 1_000 }));
    expect(health.countByKind().get('ttl')).toBe(2);
    checks.delete(NODE, 'a');
    expect(health.countByKind().get('ttl')).toBe(1);
    await expect(health.api.updateTtl(NODE, 'a', 'passing', '')).rejects.toSatisfy((e: unknown) => isBeaconError(e, 'BEACON_ERR_CHECK_NOT_TTL'));
    checks.reload();
    expect(health.countByKind().get('ttl')).toBe(1);
    await health.stop();
    expect(checks.listening).toBe(0);
  });

  it('reaps a service critical past DeregisterCriticalServiceAfter through the sink', async () => {
    await start();
    checks.put(chk(NODE, 'r', 'web-1', 'ttl', { TTLMs: 60_000, DeregisterCriticalServiceAfterMs: 5_000 }));
    // Seen critical at once; the reaper looks every second.
    await vi.advanceTimersByTimeAsync(4_999);
    expect(checks.deregistered).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(checks.deregistered).toEqual([{ node: NODE, serviceId: 'web-1' }]);
    expect(checks.check(NODE, 'r')).toBeUndefined();
  });

  it('keeps its session alive every third of the TTL; when it lapses serfHealth goes critical, then back with a new one', async () => {
    await start({ sessionTtlSeconds: 3 });
    expect(sessions.opened).toEqual([{ node: NODE, id: 's1' }]);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(checks.writes).toEqual([]);
    sessions.lapse('s1');
    // The watch said our session went: critical at once, and a new session right after.
    await vi.advanceTimersByTimeAsync(0);
    expect(checks.writes.map((w) => w.status)).toEqual(['critical', 'passing']);
    expect(checks.writes[0]).toMatchObject({ checkId: SERF_CHECK_ID, output: DEAD_OUTPUT });
    expect(sessions.opened.map((s) => s.id)).toEqual(['s1', 's2']);
    expect(checks.check(NODE, SERF_CHECK_ID)!.record).toMatchObject({ Status: 'passing', Output: ALIVE_OUTPUT });
  });

  it('a keep-alive that finds the session gone opens a new one; one that fails is retried', async () => {
    await start({ sessionTtlSeconds: 3 });
    // Lapsed without the watch saying so (a watch that is behind): the next keep-alive finds out.
    sessions.silently((live) => live.delete(NODE));
    sessions.lapse('s1');
    sessions.failKeepAlives = 1;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sessions.opened).toHaveLength(1);
    // The retry comes 750 ms later (500 ms plus half the jitter).
    await vi.advanceTimersByTimeAsync(750);
    expect(sessions.opened.map((s) => s.id)).toEqual(['s1', 's2']);
    expect(checks.writes.map((w) => w.status)).toEqual(['critical', 'passing']);
  });

  it('flips other nodes it owns as their sessions come and go, including what a broken watch missed', async () => {
    checks.put(serf('agent-2', 'critical'));
    checks.put(serf('agent-3'));
    checks.put(serf('agent-4'));
    await sessions.open('agent-3', 10);
    await sessions.open('agent-4', 10);
    await start({ owns: (node) => node !== 'agent-4' });
    const a2 = await sessions.open('agent-2', 10);
    expect(checks.check('agent-2', SERF_CHECK_ID)!.record.Status).toBe('passing');
    await a2.end({ revoke: true });
    await vi.advanceTimersByTimeAsync(0);
    expect(checks.check('agent-2', SERF_CHECK_ID)!.record).toMatchObject({ Status: 'critical', Output: DEAD_OUTPUT });
    // agent-3's session ends while the watch is broken; the re-list shows it gone.
    sessions.silently((live) => live.delete('agent-3'));
    sessions.relist();
    await vi.advanceTimersByTimeAsync(0);
    expect(checks.check('agent-3', SERF_CHECK_ID)!.record.Status).toBe('critical');
    // agent-4 is another server's to keep.
    sessions.lapse(sessions.live.get('agent-4')!);
    await vi.advanceTimersByTimeAsync(0);
    expect(checks.check('agent-4', SERF_CHECK_ID)!.record.Status).toBe('passing');
    expect(checks.check(NODE, SERF_CHECK_ID)!.record.Status).toBe('passing');
  });

  it('a late end of an older session of ours puts our mark back instead of starting over', async () => {
    await start();
    const ours = sessions.live.get(NODE)!;
    // The mark goes, reported as held by some older session of this node.
    sessions.dropMark(NODE, 's0');
    await vi.advanceTimersByTimeAsync(0);
    expect(sessions.live.get(NODE)).toBe(ours);
    expect(sessions.opened).toHaveLength(1);
    expect(checks.writes).toEqual([]);
  });
});
