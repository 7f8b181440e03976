/** Small HTTP helpers shared by the health-*.test.ts integration tests. */
import type { RunningServer } from '../helpers/server.js';

export interface Reply {
  status: number;
  text: string;
  headers: Headers;
  json<T = unknown>(): T;
}

export async function call(s: RunningServer, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(`${s.httpUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers, json: <T>() => JSON.parse(text) as T };
}

export async function put(s: RunningServer, path: string, body?: unknown): Promise<Reply> {
  const r = await call(s, 'PUT', path, body);
  return r;
}

/** PUT that must answer 200. */
export async function putOk(s: RunningServer, path: string, body?: unknown): Promise<void> {
  const r = await call(s, 'PUT', path, body);
  if (r.status !== 200) throw new Error(`PUT ${path} answered ${r.status}: ${r.text}`);
}

export interface HealthCheckJson {
  CheckID: string;
  Status: string;
  Output: string;
  Notes: string;
  Name: string;
  ServiceID: string;
  Type: string;
  Interval: string;
  Definition: Record<string, unknown>;
}

export interface HealthEntryJson {
  Service: { ID: string };
  Checks: HealthCheckJson[];
}

export async function checkOf(s: RunningServer, checkId: string): Promise<HealthCheckJson | undefined> {
  const r = await call(s, 'GET', '/v1/agent/checks');
  return r.json<Record<string, HealthCheckJson>>()[checkId];
}

/** The store revision, from /metrics. */
export async function storeRevision(s: RunningServer): Promise<number> {
  const r = await call(s, 'GET', '/metrics');
  const m = /^beacon_store_revision (\d+)/m.exec(r.text);
  if (!m) throw new Error('beacon_store_revision missing from /metrics');
  return Number(m[1]);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `f` every 50 ms until it returns a truthy value; fails after `timeoutMs`. */
export async function until<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (err) {
      last = String(err);
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ''}`);
    await sleep(50);
  }
}

/** Waits until a check has the given status; returns it. */
export function untilStatus(s: RunningServer, checkId: string, status: string, timeoutMs = 8000): Promise<HealthCheckJson> {
  return until(
    `${checkId} ${status}`,
    async () => {
      const c = await checkOf(s, checkId);
      return c?.Status === status ? c : undefined;
    },
    timeoutMs,
  );
}

/** IDs of the instances of `service` in ?passing results. */
export async function passingIds(s: RunningServer, service: string): Promise<string[]> {
  const r = await call(s, 'GET', `/v1/health/service/${encodeURIComponent(service)}?passing`);
  return r
    .json<HealthEntryJson[]>()
    .map((e) => e.Service.ID)
    .sort();
}
