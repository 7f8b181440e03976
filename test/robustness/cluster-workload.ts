/**
 * The fault suite's workload against a group of Beacon servers, and what it records for the
 * invariants:
 * - churn: registrations and deregistrations through the servers in turn, each retried like a
 *   real client retries (connection errors, timeouts, 5xx with a retryable X-Beacon-Error) until
 *   acknowledged; every ID's last acknowledged state is kept;
 * - heartbeats: a TTL pass for each live instance every ~1 s, sent to the server that answered
 *   it last and failing over to the next one on a retryable failure (as the SDK does);
 * - a critical watch: every answering server's `/v1/health/state/critical` polled, each sighting
 *   of a check of a heartbeating instance kept;
 * - SDK discovery: `discover()` on one long-lived client in a loop, and a cold client with the
 *   servers in another order every few seconds; every empty or failed answer kept.
 */
import { request } from 'undici';
import { BeaconClient } from '../../src/client/index.js';
import { ERRORS, type ErrorCode } from '../../src/errors/index.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const jitter = (ms: number, frac = 0.2): number => ms * (1 - frac + Math.random() * 2 * frac);

export type Outcome =
  | { kind: 'ok'; status: number; text: string; headers: Record<string, string | string[] | undefined> }
  /** A failure a client retries; `ambiguous`: the request may have been applied. */
  | { kind: 'retry'; why: string; ambiguous: boolean }
  | { kind: 'fatal'; why: string };

/** One HTTP call, classified as a client classifies it. */
export async function call(url: string, method: 'GET' | 'PUT', path: string, body?: unknown, timeoutMs = 3000): Promise<Outcome> {
  try {
    const res = await request(url + path, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await res.body.text();
    if (res.statusCode < 300) return { kind: 'ok', status: res.statusCode, text, headers: res.headers };
    const code = String(res.headers['x-beacon-error'] ?? '');
    const spec = code in ERRORS ? ERRORS[code as ErrorCode] : undefined;
    const why = `${res.statusCode} ${code || text.slice(0, 80)}`;
    if (spec?.retryable || (spec === undefined && [429, 502, 503, 504].includes(res.statusCode)))
      return { kind: 'retry', why, ambiguous: res.statusCode >= 500 };
    return { kind: 'fatal', why: `${why}: ${text.slice(0, 200)}` };
  } catch (err) {
    const e = err as Error & { code?: string; cause?: { code?: string } };
    const code = e.code ?? e.cause?.code ?? e.name;
    // Refused: the request never left. Anything else (reset, timeout) may have been applied.
    return { kind: 'retry', why: `connection ${code}`, ambiguous: code !== 'ECONNREFUSED' };
  }
}

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

export const fmtCounts = (m: ReadonlyMap<string, number>): string => (m.size === 0 ? 'none' : [...m].map(([k, v]) => `${k} ×${v}`).join(', '));

// ---- churn -------------------------------------------------------------------------------------

export type ChurnState = 'present' | 'absent' | 'unknown';

export interface ChurnStats {
  registered: number;
  deregistered: number;
  /** Retries by why. */
  retries: Map<string, number>;
  /** Non-retryable answers. */
  fatal: string[];
  /** Operations given up on (state unknown). */
  gaveUp: number;
}

/**
 * How long a registration or deregistration may take: the SDK's default request timeout, longer
 * than a server's own deadline for a store call, so a server answers before the client gives up
 * and a write the client abandoned cannot land after the client moved on.
 */
export const WRITE_TIMEOUT_MS = 10_000;

export const newChurnStats = (): ChurnStats => ({ registered: 0, deregistered: 0, retries: new Map(), fatal: [], gaveUp: 0 });

/**
 * Registrations and deregistrations of service `name`, IDs `<name>-<tag>-<n>`. `ids` holds every
 * ID ever tried with its last acknowledged state ('unknown' while an operation on it is open
 * or was given up).
 */
export class Churn {
  readonly ids = new Map<string, ChurnState>();
  /** Every attempt on each ID: `<ISO time> <register|deregister> via <url> -> <outcome>`. */
  readonly history = new Map<string, string[]>();
  private rr = 0;
  private seq = 0;
  private readonly busy = new Set<string>();

  constructor(
    private readonly urls: () => readonly string[],
    readonly name = 'churn',
  ) {}

  /**
   * Runs `workers` loops until `stop` aborts; an operation open then is still retried until
   * `finishBy` (ms since the epoch), then given up.
   */
  async run(tag: string, stop: AbortSignal, finishBy: () => number, workers = 2): Promise<ChurnStats> {
    const stats = newChurnStats();
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (!stop.aborted) {
          const present = [...this.ids].filter(([id, s]) => s === 'present' && !this.busy.has(id)).map(([id]) => id);
          if (present.length > 4 && Math.random() < 0.35) {
            const id = present[Math.floor(Math.random() * present.length)];
            await this.op(id, 'deregister', stats, finishBy);
          } else {
            const id = `${this.name}-${tag}-${this.seq++}`;
            this.ids.set(id, 'absent');
            await this.op(id, 'register', stats, finishBy);
          }
          await sleep(jitter(120, 0.5));
        }
      }),
    );
    return stats;
  }

  private async op(id: string, what: 'register' | 'deregister', stats: ChurnStats, finishBy: () => number): Promise<void> {
    this.busy.add(id);
    const before = this.ids.get(id);
    this.ids.set(id, 'unknown');
    let mayHaveLanded = false;
    try {
      for (;;) {
        const urls = this.urls();
        const url = urls[this.rr++ % urls.length];
        const started = Date.now();
        const o =
          what === 'register'
            ? await call(
                url,
                'PUT',
                '/v1/agent/service/register',
                { ID: id, Name: this.name, Address: '127.0.0.1', Port: 9000, Tags: ['churn'] },
                WRITE_TIMEOUT_MS,
              )
            : await call(url, 'PUT', `/v1/agent/service/deregister/${encodeURIComponent(id)}`, undefined, WRITE_TIMEOUT_MS);
        const h = this.history.get(id) ?? [];
        h.push(
          `${new Date(started).toISOString()}..${new Date().toISOString().slice(11)} ${what} via ${url} -> ${o.kind === 'ok' ? o.status : `${o.kind} ${o.why}`}`,
        );
        this.history.set(id, h);
        if (o.kind === 'ok') {
          this.ids.set(id, what === 'register' ? 'present' : 'absent');
          if (what === 'register') stats.registered++;
          else stats.deregistered++;
          return;
        }
        if (o.kind === 'fatal') {
          stats.fatal.push(`${what} ${id}: ${o.why}`);
          // Refused outright: nothing changed, unless an earlier attempt may have landed.
          if (before !== undefined && !mayHaveLanded) this.ids.set(id, before);
          return;
        }
        mayHaveLanded ||= o.ambiguous;
        count(stats.retries, o.why);
        if (Date.now() > finishBy()) {
          stats.gaveUp++;
          return;
        }
        await sleep(jitter(250, 0.5));
      }
    } finally {
      this.busy.delete(id);
    }
  }
}

/** How one server's catalog compares with what the churn was acknowledged. */
export interface ChurnCheck {
  server: string;
  listed: number;
  /** IDs acknowledged registered (and not deregistered since) that are missing. */
  lost: string[];
  /** IDs acknowledged deregistered that are listed. */
  resurrected: string[];
  /** IDs listed more than once. */
  duplicated: string[];
  /** IDs listed that were never tried. */
  phantom: string[];
  unknownPresent: number;
  unknownAbsent: number;
  error?: string;
}

/** Reads the churn service through `url` with `?consistent` and compares it with `ids`. */
export async function checkChurn(url: string, churn: Churn): Promise<ChurnCheck> {
  const out: ChurnCheck = { server: url, listed: 0, lost: [], resurrected: [], duplicated: [], phantom: [], unknownPresent: 0, unknownAbsent: 0 };
  let list: { ServiceID: string }[] | undefined;
  for (let attempt = 0; attempt < 10 && list === undefined; attempt++) {
    const o = await call(url, 'GET', `/v1/catalog/service/${churn.name}?consistent`, undefined, 5000);
    if (o.kind === 'ok') list = JSON.parse(o.text) as { ServiceID: string }[];
    else {
      out.error = o.why;
      await sleep(500);
    }
  }
  if (list === undefined) return out;
  delete out.error;
  out.listed = list.length;
  const seen = new Map<string, number>();
  for (const s of list) seen.set(s.ServiceID, (seen.get(s.ServiceID) ?? 0) + 1);
  for (const [id, n] of seen) {
    if (n > 1) out.duplicated.push(id);
    if (!churn.ids.has(id)) out.phantom.push(id);
  }
  for (const [id, state] of churn.ids) {
    const listed = seen.has(id);
    if (state === 'present' && !listed) out.lost.push(id);
    if (state === 'absent' && listed) out.resurrected.push(id);
    if (state === 'unknown') {
      if (listed) out.unknownPresent++;
      else out.unknownAbsent++;
    }
  }
  return out;
}

// ---- heartbeats ------------------------------------------------------------------------------

export interface Beating {
  id: string;
  checkId: string;
  /** The server index this instance's heartbeats go to first (moves on failover). */
  preferred: number;
  /** ms since the epoch; undefined while heartbeats run. */
  stoppedAt: number | undefined;
  lastOk: number;
  /** Longest time between two acknowledged heartbeats (in the current window). */
  maxGapMs: number;
  ok: number;
  failures: Map<string, number>;
  /** Answers a client does not retry (a registered check's heartbeat must never get one). */
  refused: string[];
}

/** TTL heartbeats for a set of instances, each every ~`periodMs`. */
export class Heartbeats {
  readonly instances = new Map<string, Beating>();
  private stopped = false;
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly urls: () => readonly string[],
    private readonly periodMs: number,
  ) {}

  /** Starts heartbeating an instance (its check `service:<id>`). */
  add(id: string, preferred: number): Beating {
    const b: Beating = {
      id,
      checkId: `service:${id}`,
      preferred,
      stoppedAt: undefined,
      lastOk: Date.now(),
      maxGapMs: 0,
      ok: 0,
      failures: new Map(),
      refused: [],
    };
    this.instances.set(id, b);
    this.loops.push(this.loop(b));
    return b;
  }

  /** The instance's target died: no more heartbeats. */
  kill(id: string): void {
    const b = this.instances.get(id);
    if (b && b.stoppedAt === undefined) b.stoppedAt = Date.now();
  }

  /** Whether `id` was heartbeating at time `at`. */
  beatingAt(id: string, at: number): boolean {
    const b = this.instances.get(id);
    return b !== undefined && (b.stoppedAt === undefined || at < b.stoppedAt);
  }

  /** Starts a new stats window (gaps and counts since now). */
  resetWindow(): void {
    for (const b of this.instances.values()) {
      b.maxGapMs = 0;
      b.ok = 0;
      b.failures = new Map();
      b.refused = [];
    }
  }

  summary(): { ok: number; maxGapMs: number; failures: Map<string, number>; refused: string[] } {
    const failures = new Map<string, number>();
    const refused: string[] = [];
    let ok = 0;
    let maxGapMs = 0;
    for (const b of this.instances.values()) {
      if (b.stoppedAt !== undefined) continue;
      ok += b.ok;
      maxGapMs = Math.max(maxGapMs, b.maxGapMs, Date.now() - b.lastOk);
      for (const [k, v] of b.failures) failures.set(k, (failures.get(k) ?? 0) + v);
      refused.push(...b.refused);
    }
    return { ok, maxGapMs, failures, refused };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async loop(b: Beating): Promise<void> {
    while (!this.stopped && b.stoppedAt === undefined) {
      const started = Date.now();
      await this.beat(b, started + this.periodMs * 3);
      const wait = started + jitter(this.periodMs, 0.1) - Date.now();
      if (wait > 0) await sleep(wait);
    }
  }

  /** One heartbeat, retried on the next server until acknowledged or `until`. */
  private async beat(b: Beating, until: number): Promise<void> {
    while (!this.stopped && b.stoppedAt === undefined) {
      const urls = this.urls();
      const o = await call(urls[b.preferred % urls.length], 'PUT', `/v1/agent/check/pass/${encodeURIComponent(b.checkId)}`, undefined, 2000);
      if (o.kind === 'ok') {
        const now = Date.now();
        b.maxGapMs = Math.max(b.maxGapMs, now - b.lastOk);
        b.lastOk = now;
        b.ok++;
        return;
      }
      count(b.failures, o.why);
      if (o.kind === 'fatal') b.refused.push(`${new Date().toISOString()} ${b.checkId} via ${urls[b.preferred % urls.length]}: ${o.why}`);
      // Like the SDK: the next server on any failure (a client that registers again on a refusal would hide it).
      b.preferred = (b.preferred + 1) % urls.length;
      if (Date.now() > until) return;
      await sleep(jitter(150, 0.5));
    }
  }
}

// ---- critical watch ------------------------------------------------------------------------------

export interface Sighting {
  at: number;
  server: string;
  checkId: string;
  output: string;
}

/**
 * Polls `/v1/health/state/critical?stale` on every server `observe()` names, about every
 * `periodMs`, keeping each sighting of a check of an instance that was heartbeating then.
 */
export class CriticalWatch {
  readonly sightings: Sighting[] = [];
  polls = 0;
  private stopped = false;
  private readonly loopDone: Promise<void>;

  constructor(
    private readonly observe: () => readonly string[],
    private readonly beats: Heartbeats,
    periodMs = 500,
  ) {
    this.loopDone = (async () => {
      while (!this.stopped) {
        await Promise.all(this.observe().map((url) => this.poll(url)));
        await sleep(jitter(periodMs));
      }
    })();
  }

  private async poll(url: string): Promise<void> {
    const o = await call(url, 'GET', '/v1/health/state/critical?stale', undefined, 1500);
    const at = Date.now();
    if (o.kind !== 'ok') return;
    this.polls++;
    for (const c of JSON.parse(o.text) as { CheckID: string; ServiceID: string; Output: string; Node: string }[]) {
      if (c.ServiceID !== '' && this.beats.beatingAt(c.ServiceID, at)) this.sightings.push({ at, server: url, checkId: c.CheckID, output: c.Output });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loopDone;
  }
}

// ---- SDK discovery ------------------------------------------------------------------------------

export interface DiscoveryStats {
  ok: number;
  stale: number;
  cold: number;
  failures: string[];
  minInstances: number;
}

export const newDiscoveryStats = (): DiscoveryStats => ({ ok: 0, stale: 0, cold: 0, failures: [], minInstances: Number.POSITIVE_INFINITY });

const SDK_OPTIONS = { requestTimeoutMs: 2000, waitMs: 5000, retry: { baseMs: 100, maxMs: 2000 }, deregisterOnSignals: false } as const;

/** SDK discovery of `service` in a loop: a long-lived client every ~250 ms, a cold one every ~2 s. */
export class DiscoveryLoop {
  stats = newDiscoveryStats();
  private stopped = false;
  private readonly client: BeaconClient;
  private readonly done: Promise<void>[];

  constructor(
    private readonly urls: readonly string[],
    private readonly service: string,
  ) {
    this.client = new BeaconClient({ servers: [...urls], ...SDK_OPTIONS });
    this.done = [this.warm(), this.cold()];
  }

  /** Starts a new stats window. */
  resetWindow(): DiscoveryStats {
    const s = this.stats;
    this.stats = newDiscoveryStats();
    return s;
  }

  private record(how: string, instances: number | Error, stale = false): void {
    if (instances instanceof Error) this.stats.failures.push(`${how}: ${instances.message}`);
    else if (instances === 0) this.stats.failures.push(`${how}: an empty set`);
    else {
      this.stats.ok++;
      if (stale) this.stats.stale++;
      this.stats.minInstances = Math.min(this.stats.minInstances, instances);
    }
  }

  private async warm(): Promise<void> {
    while (!this.stopped) {
      try {
        const snap = await this.client.discover(this.service);
        this.record('cached client', snap.instances.length, snap.stale);
      } catch (err) {
        this.record('cached client', err as Error);
      }
      await sleep(jitter(250));
    }
  }

  private async cold(): Promise<void> {
    let k = 0;
    while (!this.stopped) {
      const order = this.urls.map((_, i) => this.urls[(i + k) % this.urls.length]);
      k++;
      const c = new BeaconClient({ servers: order, ...SDK_OPTIONS });
      try {
        const snap = await c.discover(this.service);
        this.stats.cold++;
        this.record(`cold client (first ${order[0]})`, snap.instances.length, snap.stale);
      } catch (err) {
        this.record(`cold client (first ${order[0]})`, err as Error);
      } finally {
        await c.close({ deregister: false });
      }
      await sleep(jitter(2000));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.done);
    await this.client.close({ deregister: false });
  }
}
