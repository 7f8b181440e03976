// Small HTTP helpers for setting up benchmark data against a Beacon server.
import { Pool } from 'undici';

/** PUT a JSON body; throws with the server's message unless it answers 200. */
export async function putJson(client, path, body) {
  const res = await client.request({ method: 'PUT', path, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`PUT ${path}: HTTP ${res.statusCode} ${text}`);
}

/** GET JSON; returns { status, headers, body }. */
export async function getJson(client, path) {
  const res = await client.request({ method: 'GET', path });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/**
 * Runs `count` jobs with at most `concurrency` in flight (job(i) returns a promise).
 * Rejects on the first failure.
 */
export async function parallel(count, concurrency, job) {
  let next = 0;
  const worker = async () => {
    while (next < count) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** A keep-alive pool for set-up traffic. */
export function pool(origin, connections = 16) {
  return new Pool(origin, { connections, pipelining: 1 });
}
