/**
 * A second, independent Consul client — python-consul, from Debian's python3-consul — drives a
 * real Beacon server: registration with a TTL check, catalog and health reads, a blocking query
 * woken by a TTL failure, agent endpoints, Consul's error text, deregistration.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { ensurePythonModule } from '../helpers/tools.js';

let server: RunningServer;
let python: string;

beforeAll(async () => {
  // Debian's python3-consul installs for Debian's own interpreter.
  python = ensurePythonModule('consul', 'python3-consul');
  server = await startServer({ dnsAddr: 'off' });
}, 300_000);
afterAll(async () => {
  await server?.stop();
});

describe('python-consul against beacon', () => {
  it('registers, reads, blocks until a change, and deregisters', () => {
    const r = spawnSync(python, [join(import.meta.dirname, 'fixtures', 'python_consul_client.py'), server.httpHost, String(server.httpPort)], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    // The legacy GET form of a TTL update is refused (405), as by Consul >= 1.0, and changes nothing.
    expect(out.legacy_get_result).toBe(false);
    expect(out.status_after_get).toBe('critical');
    expect(out.ttl_pass_ok).toBe(true);
    expect(out.catalog_index).toBeGreaterThan(0);
    expect((out.catalog_services as Record<string, string[]>).orders?.sort()).toEqual(['blue', 'v1']);
    expect(out.passing_ids).toEqual(['orders-1', 'orders-2']);
    expect(out.passing_checks).toContain('service:orders-1');
    expect(out.index_moved).toBe(true);
    expect(out.blocked_seconds as number).toBeGreaterThan(0.2);
    expect(out.blocked_seconds as number).toBeLessThan(5);
    expect(out.passing_after_fail).toEqual(['orders-2']);
    expect(out.agent_services).toEqual(['consul', 'orders-1', 'orders-2']);
    expect(out.self_dc).toBe('dc1');
    expect(out.leader).toMatch(/:8300$/);
    expect(out.ttl_error).toMatch(/does not have associated TTL/);
    expect(out.legacy_deregister_result).toBe(false);
    expect(out.after_deregister).toEqual(['orders-1']);
  });
});
