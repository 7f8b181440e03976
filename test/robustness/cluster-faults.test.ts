/**
 * The cluster fault suite (cluster mode on etcd): a real three-member etcd on loopback and three
 * `beacon server` processes, shared by every scenario. While one fault at a time is injected, a
 * workload runs — registrations and deregistrations through the servers, TTL heartbeats for a
 * set of live instances, a critical watch over every server, SDK discovery in a loop — and each
 * scenario then checks and prints its invariants:
 * - every acknowledged registration/deregistration is reflected on every server, no ID twice,
 *   nothing never asked for;
 * - no heartbeating instance was ever reported critical (by any server's answers, or in any
 *   check record written to etcd: an independent watch on etcd records every write);
 * - an instance whose heartbeats stop leaves `?passing` on every server within its TTL + the
 *   session TTL + a margin (a bound from the config, generous for a shared two-core machine);
 * - SDK discovery always returned a non-empty healthy set.
 * Heartbeats go to one server and fail over to the next on any failure, as the SDK's do, so a
 * server that acknowledges a heartbeat it cannot deliver shows up as a critical instance. Each
 * scenario heals what it broke before the next one starts; the whole file takes about 3.5
 * minutes on two cores (60 s of it scenario 5's outage).
 *
 * BEACON_FAULT_LOG_LEVEL=info raises the servers' log level; BEACON_FAULT_LOG_DIR=<dir> keeps
 * their logs and every recorded check write there.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rendezvousOwner } from '../../src/cluster/index.js';
import { startCheckRecorder, type CheckRecorder } from './check-recorder.js';
import { getJson, startFaultCluster, type FaultCluster } from './cluster-harness.js';
import {
  call,
  checkChurn,
  Churn,
  CriticalWatch,
  DiscoveryLoop,
  fmtCounts,
  Heartbeats,
  type ChurnCheck,
  type ChurnStats,
  type DiscoveryStats,
} from './cluster-workload.js';

const SESSION_TTL_S = 3;
const CHECK_TTL_S = 8;
const HEARTBEAT_MS = 1000;
/** Slack on top of the config-derived bounds: elections, retries, watch propagation, two noisy cores. */
const MARGIN_S = 15;
/** How long an instance whose heartbeats stopped may stay in `?passing`: its TTL, a takeover (session TTL), the margin. */
const DEATH_BOUND_MS = (CHECK_TTL_S + SESSION_TTL_S + MARGIN_S) * 1000;
/** How long a server's departure may take to show in the others' peers. */
const LEAVE_BOUND_MS = (SESSION_TTL_S + MARGIN_S) * 1000;
const SHARED_NODE = 'beacon-servers';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Where two texts first differ, with some context from each. */
function firstDiff(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - 60);
  return `at ${i}: ${JSON.stringify(a.slice(from, i + 60))} vs ${JSON.stringify(b.slice(from, i + 60))}`;
}

/** An instance ID whose check rendezvous hashing gives to server `owner`. */
function idOwnedBy(prefix: string, owner: string, members: readonly string[]): string {
  for (let j = 0; j < 10_000; j++) {
    const id = `${prefix}-${j}`;
    if (rendezvousOwner(`${SHARED_NODE}\u0000service:${id}`, members) === owner) return id;
  }
  throw new Error(`no ID for owner ${owner}`);
}

interface DeathWatch {
  id: string;
  stoppedAt: number;
  /** Resolves with the ms from its heartbeats' stop until no observed server lists it as passing. */
  gone: Promise<number>;
}

/** Waits until the target is out of `?passing` everywhere, at most until its bound (and a little) has passed. */
const untilGone = (d: DeathWatch): Promise<unknown> => Promise.race([d.gone, sleep(Math.max(0, d.stoppedAt + DEATH_BOUND_MS + 5000 - Date.now()))]);

describe.sequential('cluster faults: a workload under one fault at a time', () => {
  let c: FaultCluster;
  let beats: Heartbeats;
  let churn: Churn;
  let watch: CriticalWatch;
  let disco: DiscoveryLoop;
  let recorder: CheckRecorder;
  /** Servers whose answers count as the cluster's (a server cut off from etcd is left out while cut). */
  let observed: () => number[];
  /** The scenario running now (a failed one is closed by the next, or by afterAll). */
  let current: Window | undefined;
  let ended = false;
  const urls = (): readonly string[] => c.urls;

  const register = async (id: string, name: string, via: number): Promise<void> => {
    const body = { ID: id, Name: name, Address: '127.0.0.1', Port: 8080, Check: { TTL: `${CHECK_TTL_S}s`, Status: 'passing' } };
    for (let attempt = 0; attempt < 40; attempt++) {
      const o = await call(c.urls[(via + attempt) % c.urls.length], 'PUT', '/v1/agent/service/register', body);
      if (o.kind === 'ok') return;
      if (o.kind === 'fatal') throw new Error(`registering ${id}: ${o.why}`);
      await sleep(250);
    }
    throw new Error(`registering ${id}: no server took it`);
  };

  /** Waits until every observed server lists `id` among the passing instances of `name`. */
  const untilPassingEverywhere = async (name: string, id: string, timeoutMs = 20_000): Promise<void> => {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      const views = await Promise.all(observed().map((i) => getJson<{ Service: { ID: string } }[]>(c.urls[i], `/v1/health/service/${name}?passing`)));
      if (views.every((v) => v?.some((e) => e.Service.ID === id))) return;
      await sleep(200);
    }
    throw new Error(`${id} did not show as passing on every server within ${timeoutMs} ms`);
  };

  /** Stops `id`'s heartbeats (its target died) and measures when it leaves `?passing` on every observed server. */
  const killTarget = (id: string, name: string): DeathWatch => {
    beats.kill(id);
    const b = beats.instances.get(id)!;
    const stoppedAt = b.stoppedAt!;
    const gone = (async () => {
      const limit = stoppedAt + DEATH_BOUND_MS + 30_000;
      while (!ended && Date.now() < limit) {
        const views = await Promise.all(observed().map((i) => getJson<{ Service: { ID: string } }[]>(c.urls[i], `/v1/health/service/${name}?passing`)));
        const answered = views.filter((v) => v !== undefined);
        if (answered.length > 0 && answered.length === views.length && answered.every((v) => !v.some((e) => e.Service.ID === id)))
          return Date.now() - stoppedAt;
        await sleep(250);
      }
      return Number.POSITIVE_INFINITY;
    })();
    return { id, stoppedAt, gone };
  };

  /** Everything back to normal: etcd members running, the proxy through, every server running and a member. */
  const heal = async (): Promise<void> => {
    c.proxy.restore();
    const stopped = Array.from({ length: c.etcd.size }, (_, i) => i).filter((i) => !c.etcd.isRunning(i));
    for (const i of stopped) await c.etcd.startMember(i, { wait: false });
    if (stopped.length > 0) await c.etcd.waitReady(60_000);
    for (let i = 0; i < c.names.length; i++) {
      if (!c.running(i)) await c.restartServer(i);
      else if (!c.answering(i)) c.resumeServer(i);
    }
    observed = () => c.names.map((_, i) => i).filter((i) => c.answering(i));
    await c.waitForPeers(
      c.names.map((_, i) => i),
      60_000,
    );
  };

  interface Window {
    n: number;
    t0: number;
    sightings0: number;
    writes0: number;
    stop: AbortController;
    finishBy: number;
    churnRun: Promise<ChurnStats> | undefined;
    /** Owned by the scenario's victim; its heartbeats stop during the fault. */
    doomed: string;
    /** Owned by the victim too, heartbeats sent through another server; they stop once the fault healed. */
    late: string;
  }

  /** Opens a scenario: two doomed instances owned by server `victim`, the churn running. */
  const open = async (n: number, victim: number): Promise<Window> => {
    await abandon();
    await heal();
    beats.resetWindow();
    disco.resetWindow();
    const doomed = idOwnedBy(`doomed-s${n}`, c.names[victim], c.names);
    const late = idOwnedBy(`late-s${n}`, c.names[victim], c.names);
    await register(doomed, 'doomed', victim);
    beats.add(doomed, victim);
    await register(late, 'doomed', victim);
    beats.add(late, (victim + 1) % c.names.length);
    await untilPassingEverywhere('doomed', doomed);
    await untilPassingEverywhere('doomed', late);
    const w: Window = {
      n,
      t0: Date.now(),
      sightings0: watch.sightings.length,
      writes0: recorder.writes.length,
      stop: new AbortController(),
      finishBy: Number.POSITIVE_INFINITY,
      churnRun: undefined,
      doomed,
      late,
    };
    w.churnRun = churn.run(`s${n}`, w.stop.signal, () => w.finishBy);
    current = w;
    return w;
  };

  /** Stops the churn of a scenario that failed before it closed. */
  const abandon = async (): Promise<void> => {
    const w = current;
    current = undefined;
    if (!w || w.stop.signal.aborted) return;
    w.stop.abort();
    w.finishBy = 0;
    await w.churnRun;
  };

  interface Verdict {
    churn: ChurnStats;
    checks: ChurnCheck[];
    refusedBeats: string[];
    /** Longest time between two acknowledged heartbeats of one live instance in the window. */
    beatGapMs: number;
    disco: DiscoveryStats;
    deathMs: number;
    lateDeathMs: number;
    sightings: string[];
    criticalWrites: string[];
    liveWrites: number;
  }

  /** Closes a scenario after its fault healed: the churn finishes, the death is measured, every invariant is read and printed. */
  const close = async (w: Window, death: DeathWatch, lines: string[], quiet?: () => Promise<string[]>): Promise<Verdict> => {
    await heal();
    // A few more seconds of workload on the healed cluster, then the churn stops; open operations may retry a while.
    await sleep(2000);
    w.stop.abort();
    w.finishBy = Date.now() + 20_000;
    const churnStats = (await w.churnRun)!;
    // With the churn stopped: what the scenario compares on a cluster no client writes to.
    if (quiet) lines.push(...(await quiet()));
    const lateDeath = killTarget(w.late, 'doomed');
    const deathMs = await death.gone;
    const lateDeathMs = await lateDeath.gone;
    const checks = await Promise.all(c.urls.map((u) => checkChurn(u, churn)));
    const discoStats = disco.resetWindow();
    const hb = beats.summary();
    const sightings = watch.sightings
      .slice(w.sightings0)
      .map((s) => `${new Date(s.at).toISOString()} ${c.names[c.urls.indexOf(s.server)] ?? s.server} ${s.checkId}: ${s.output.slice(0, 120)}`);
    const windowWrites = recorder.writes.slice(w.writes0);
    const liveWrites = windowWrites.filter((x) => beats.beatingAt(x.checkId.replace(/^service:/, ''), x.at));
    const criticalWrites = liveWrites
      .filter((x) => x.status === 'critical')
      .map((x) => `rev ${x.revision} ${new Date(x.at).toISOString()} ${x.checkId}: ${x.output.slice(0, 120)}`);
    const churnCounts = (k: keyof ChurnCheck) => checks.map((x) => (Array.isArray(x[k]) ? (x[k] as string[]).length : 0)).join('/');
    const out = [
      ...lines,
      `churn: ${churnStats.registered} registrations and ${churnStats.deregistered} deregistrations acknowledged; retried: ${fmtCounts(churnStats.retries)}; refused: ${churnStats.fatal.length}; given up: ${churnStats.gaveUp}`,
      `catalog (?consistent, per server): listed ${checks.map((x) => x.listed).join('/')} of ${[...churn.ids.values()].filter((s) => s === 'present').length} acknowledged present; lost ${churnCounts('lost')}, resurrected ${churnCounts('resurrected')}, duplicated ${churnCounts('duplicated')}, phantom ${churnCounts('phantom')}${checks.some((x) => x.error) ? `; unreadable: ${checks.map((x) => x.error ?? '-').join('/')}` : ''}`,
      `heartbeats: ${hb.ok} acknowledged, longest gap ${secs(hb.maxGapMs)} (TTL ${CHECK_TTL_S} s); failed tries: ${fmtCounts(hb.failures)}; refused outright: ${hb.refused.length}`,
      `critical seen for heartbeating instances: ${sightings.length} in answers (${watch.polls} polls so far), ${criticalWrites.length} written to etcd (${liveWrites.length} writes to their checks; recorder gaps: ${recorder.gaps.length})`,
      `stopped targets (bound ${secs(DEATH_BOUND_MS)} = TTL ${CHECK_TTL_S} s + session TTL ${SESSION_TTL_S} s + margin ${MARGIN_S} s): ${death.id} (stopped during the fault) out of ?passing everywhere ${secs(deathMs)} after its heartbeats stopped; ${lateDeath.id} (stopped after the heal) ${secs(lateDeathMs)}`,
      `SDK discovery: ${discoStats.ok} non-empty answers (${discoStats.cold} from cold clients, ${discoStats.stale} stale, fewest instances ${discoStats.minInstances}), ${discoStats.failures.length} failures`,
    ];
    console.log(`scenario ${w.n} (${secs(Date.now() - w.t0)}):\n  ${out.join('\n  ')}`);
    const broken = new Set(checks.flatMap((x) => [...x.lost, ...x.resurrected, ...x.duplicated]));
    for (const id of broken) console.log(`  history of ${id}:\n    ${(churn.history.get(id) ?? []).join('\n    ')}`);
    return {
      churn: churnStats,
      checks,
      refusedBeats: hb.refused,
      beatGapMs: hb.maxGapMs,
      disco: discoStats,
      deathMs,
      lateDeathMs,
      sightings,
      criticalWrites,
      liveWrites: liveWrites.length,
    };
  };

  /** The invariants every scenario shares. */
  const expectInvariants = (v: Verdict): void => {
    expect(v.churn.fatal, 'no write was refused outright').toEqual([]);
    for (const ch of v.checks) {
      expect(ch.error, `${ch.server} answers ?consistent`).toBeUndefined();
      expect(ch.lost, `${ch.server}: acknowledged registrations present`).toEqual([]);
      expect(ch.resurrected, `${ch.server}: acknowledged deregistrations absent`).toEqual([]);
      expect(ch.duplicated, `${ch.server}: no ID twice`).toEqual([]);
      expect(ch.phantom, `${ch.server}: nothing never asked for`).toEqual([]);
    }
    expect(v.refusedBeats, 'no heartbeat of a registered instance refused outright (callers that retry see no error)').toEqual([]);
    expect(v.sightings, 'no heartbeating instance reported critical by a server').toEqual([]);
    expect(v.criticalWrites, 'no heartbeating instance written critical').toEqual([]);
    expect(v.deathMs, 'a target stopped during the fault leaves ?passing within TTL + session TTL + margin').toBeLessThanOrEqual(DEATH_BOUND_MS);
    expect(v.lateDeathMs, 'a target stopped after the fault leaves ?passing within TTL + session TTL + margin').toBeLessThanOrEqual(DEATH_BOUND_MS);
    expect(v.disco.failures, 'SDK discovery never failed').toEqual([]);
  };

  beforeAll(async () => {
    c = await startFaultCluster({ sessionTtlSeconds: SESSION_TTL_S, logLevel: process.env.BEACON_FAULT_LOG_LEVEL });
    observed = () => c.names.map((_, i) => i).filter((i) => c.answering(i));
    recorder = startCheckRecorder(c.etcd, `/beacon/dc1/beacon/catalog/checks/${SHARED_NODE}/`);
    beats = new Heartbeats(urls, HEARTBEAT_MS);
    churn = new Churn(urls);
    // Six live instances: each server owns two; one of them sends its heartbeats to its owner
    // first, the other to another server (so they are forwarded).
    for (let k = 0; k < 6; k++) {
      const owner = k % 3;
      const preferred = (k + Math.floor(k / 3)) % 3;
      const id = idOwnedBy(`live-${k}`, c.names[owner], c.names);
      await register(id, 'live', preferred);
      beats.add(id, preferred);
    }
    for (const id of beats.instances.keys()) await untilPassingEverywhere('live', id);
    // Every server that answers is watched, a cut-off one included: its answers reach clients too.
    watch = new CriticalWatch(() => c.urls.filter((_, i) => c.answering(i)), beats);
    disco = new DiscoveryLoop(c.urls, 'live');
  }, 120_000);

  afterAll(async () => {
    ended = true;
    await abandon();
    await Promise.allSettled([beats?.stop(), watch?.stop(), disco?.stop(), recorder?.stop()]);
    // BEACON_FAULT_LOG_DIR=<dir> keeps every server's log and the recorded check writes there.
    const keep = process.env.BEACON_FAULT_LOG_DIR;
    if (keep && c) {
      mkdirSync(keep, { recursive: true });
      c.names.forEach((name, i) => writeFileSync(join(keep, `${name}.log`), c.log(i)));
      writeFileSync(join(keep, 'check-writes.json'), JSON.stringify(recorder.writes, null, 1));
    }
    await c?.cleanup();
  }, 60_000);

  it('1. SIGKILL of the etcd leader (then restarted): writes resume after the election, callers that retry see no error', async () => {
    const w = await open(1, 0);
    await sleep(2000);
    const leader = await c.etcd.leaderIndex();
    const killedAt = Date.now();
    const death = killTarget(w.doomed, 'doomed');
    await c.etcd.stopMember(leader);
    const newLeader = await c.etcd.leaderIndex();
    const electedMs = Date.now() - killedAt;
    await sleep(8000);
    await c.etcd.startMember(leader);
    const v = await close(w, death, [`etcd leader m${leader} SIGKILLed; m${newLeader} led ${secs(electedMs)} later; restarted after 8 s`]);
    expectInvariants(v);
  }, 180_000);

  it('2. SIGKILL of a Beacon server (then restarted): the others keep serving, its checks move', async () => {
    const victim = 1;
    const w = await open(2, victim);
    await sleep(2000);
    const death = killTarget(w.doomed, 'doomed');
    await c.killServer(victim);
    const killedAt = Date.now();
    const rest = observed();
    const leftMs = await c.waitForPeers(rest, LEAVE_BOUND_MS);
    // Down until its stopped target was found dead by the server that took its check over (a
    // restart first would hand the check back, and its new owner would start a fresh TTL).
    await untilGone(death);
    await c.restartServer(victim);
    const v = await close(w, death, [
      `${c.names[victim]} SIGKILLed (owner of ${w.doomed}, whose heartbeats stopped at the same moment); the others listed ${rest.length} peers ${secs(leftMs)} later (bound ${secs(LEAVE_BOUND_MS)}); restarted after ${secs(Date.now() - killedAt)}, once ${w.doomed} was out of ?passing`,
    ]);
    expect(leftMs).toBeLessThanOrEqual(LEAVE_BOUND_MS);
    expectInvariants(v);
  }, 180_000);

  it('3. SIGSTOP of a Beacon server past its session TTL, then SIGCONT: the zombie writes nothing', async () => {
    const victim = 0;
    const w = await open(3, victim);
    await sleep(2000);
    const logBefore = c.log(victim).length;
    const death = killTarget(w.doomed, 'doomed');
    c.pauseServer(victim);
    const pausedAt = Date.now();
    const rest = observed();
    const leftMs = await c.waitForPeers(rest, LEAVE_BOUND_MS);
    // Stopped for three session TTLs at least, and until the server that took its checks over
    // found its stopped target dead (SIGCONT first would hand the check back to a fresh TTL).
    await sleep(Math.max(0, 3 * SESSION_TTL_S * 1000 - (Date.now() - pausedAt)));
    await untilGone(death);
    const pausedMs = Date.now() - pausedAt;
    const resumedAt = Date.now();
    c.resumeServer(victim);
    observed = () => c.names.map((_, i) => i).filter((i) => c.answering(i));
    const rejoinMs = await c.waitForPeers(
      c.names.map((_, i) => i),
      LEAVE_BOUND_MS,
    );
    // Writes to the group's checks after SIGCONT, by anyone (the zombie's would be among them).
    await sleep(2000);
    const afterResume = recorder.writes.filter((x) => x.at >= resumedAt && x.checkId !== `service:${w.doomed}`);
    const zombieLog = c
      .log(victim)
      .slice(logBefore)
      .split('\n')
      .filter((l) => /NOT_OWNER|left the server group|session lapsed|fenc/i.test(l));
    const v = await close(w, death, [
      `${c.names[victim]} (owner of ${w.doomed}) SIGSTOPped for ${secs(pausedMs)} (session TTL ${SESSION_TTL_S} s); the others listed ${rest.length} peers ${secs(leftMs)} after the pause; all 3 again ${secs(rejoinMs)} after SIGCONT`,
      `check writes after SIGCONT (but the stopped target's): ${afterResume.length ? afterResume.map((x) => `${x.checkId}=${x.status}`).join(', ') : 'none'}`,
      `the zombie's log after SIGCONT: ${zombieLog.length} lines on its lapsed session or fenced writes${zombieLog.length ? `, e.g. ${zombieLog[0].slice(0, 200)}` : ''}`,
    ]);
    expect(leftMs).toBeLessThanOrEqual(LEAVE_BOUND_MS);
    expect(
      afterResume.filter((x) => x.status === 'critical'),
      'no critical written after SIGCONT',
    ).toEqual([]);
    expectInvariants(v);
  }, 180_000);

  it('4. a Beacon server cut off from etcd: reads answer (KnownLeader false), writes 503 retryable, it rejoins after', async () => {
    // The cut is made by the TCP proxy this server reaches etcd through (instead of a network
    // namespace with a blackhole route): every connection is destroyed and new ones are reset.
    const victim = c.proxied;
    const url = c.urls[victim];
    const w = await open(4, victim);
    await sleep(2000);
    const death = killTarget(w.doomed, 'doomed');
    c.proxy.cut();
    const cutAt = Date.now();
    observed = () => c.names.map((_, i) => i).filter((i) => c.answering(i) && i !== victim);
    const rest = observed();
    // While cut: its reads, polled; a write through it once it knows.
    const reads: { at: number; status: number | string; knownLeader: string }[] = [];
    let write: string | undefined;
    // Cut for four session TTLs at least, and until the server that took its checks over found
    // its stopped target dead (a restore first would hand the check back to a fresh TTL).
    const cutMs = 4 * SESSION_TTL_S * 1000;
    let gone = false;
    void untilGone(death).then(() => (gone = true));
    const leftP = c.waitForPeers(rest, LEAVE_BOUND_MS).catch((err: Error) => err);
    while (Date.now() - cutAt < cutMs || !gone) {
      const o = await call(url, 'GET', '/v1/health/service/live', undefined, 3000);
      const knownLeader = o.kind === 'ok' ? String(o.headers['x-consul-knownleader']) : '-';
      reads.push({ at: Date.now() - cutAt, status: o.kind === 'ok' ? o.status : o.why, knownLeader });
      if (knownLeader === 'false' && write === undefined) {
        const wr = await call(url, 'PUT', '/v1/agent/service/register', { ID: 'cut-off-write', Name: 'cut-off', Port: 1 }, 15_000);
        write = wr.kind === 'ok' ? `accepted (${wr.status})` : `${wr.kind}: ${wr.why}`;
      }
      await sleep(500);
    }
    const left = await leftP;
    c.proxy.restore();
    const restoredAt = Date.now();
    observed = () => c.names.map((_, i) => i).filter((i) => c.answering(i));
    const rejoinMs = await c.waitForPeers(
      c.names.map((_, i) => i),
      LEAVE_BOUND_MS,
    );
    const firstFalse = reads.find((r) => r.knownLeader === 'false');
    const failedReads = reads.filter((r) => r.status !== 200);
    const v = await close(w, death, [
      `${c.names[victim]} (owner of ${w.doomed}) cut off from etcd for ${secs(restoredAt - cutAt)} (TCP proxy: connections destroyed, new ones reset)`,
      `its reads while cut: ${reads.length}, ${failedReads.length} not answered 200; KnownLeader false from ${firstFalse ? secs(firstFalse.at) : 'never'} after the cut`,
      `a write through it while cut: ${write ?? 'not tried (it never reported KnownLeader false)'}`,
      `the others listed ${rest.length} peers ${left instanceof Error ? `never (${left.message})` : `${secs(left)} after the cut`}; all 3 again ${secs(rejoinMs)} after the restore`,
    ]);
    expect(failedReads, 'reads on the cut-off server still answer').toEqual([]);
    expect(firstFalse, 'the cut-off server reports X-Consul-KnownLeader: false').toBeDefined();
    expect(firstFalse!.at).toBeLessThanOrEqual(LEAVE_BOUND_MS);
    expect(write, 'a write through the cut-off server answers 503 with a retryable code').toMatch(/^retry: 503 BEACON_ERR_/);
    expect(left).not.toBeInstanceOf(Error);
    expectInvariants(v);
  }, 180_000);

  it('5. every etcd member stopped for 60 s: reads answer from the view, writes 503 retryable, nothing deregistered or critical after', async () => {
    const w = await open(5, 1);
    await sleep(2000);
    const livePresent = [...beats.instances.values()].filter((b) => b.stoppedAt === undefined && b.id.startsWith('live-')).map((b) => b.id);
    await c.etcd.stopAll();
    const downAt = Date.now();
    const OUTAGE_MS = 60_000;
    const samples: { server: number; at: number; status: number | string; knownLeader: string; lastContact: number }[] = [];
    const writes: string[] = [];
    while (Date.now() - downAt < OUTAGE_MS) {
      await Promise.all(
        c.urls.map(async (url, i) => {
          const o = await call(url, 'GET', '/v1/health/service/live', undefined, 3000);
          samples.push({
            server: i,
            at: Date.now() - downAt,
            status: o.kind === 'ok' ? o.status : o.why,
            knownLeader: o.kind === 'ok' ? String(o.headers['x-consul-knownleader']) : '-',
            lastContact: o.kind === 'ok' ? Number(o.headers['x-consul-lastcontact']) : -1,
          });
        }),
      );
      if (writes.length === 0 && Date.now() - downAt > 15_000) {
        const wr = await Promise.all(
          c.urls.map((url) => call(url, 'PUT', '/v1/agent/service/register', { ID: 'outage-write', Name: 'outage', Port: 1 }, 20_000)),
        );
        writes.push(...wr.map((o) => (o.kind === 'ok' ? `accepted (${o.status})` : `${o.kind}: ${o.why}`)));
      }
      await sleep(2000);
    }
    for (let i = 0; i < c.etcd.size; i++) await c.etcd.startMember(i, { wait: false });
    await c.etcd.waitReady(60_000);
    const upAt = Date.now();
    await c.waitForPeers(
      c.names.map((_, i) => i),
      60_000,
    );
    const death = killTarget(w.doomed, 'doomed');
    const perServer = c.urls.map((_, i) => samples.filter((s) => s.server === i && s.at > 15_000));
    const unanswered = samples.filter((s) => s.status !== 200);
    const lastContactGrows = perServer.map((s) => s.length >= 2 && s.at(-1)!.lastContact > s[0].lastContact && s.every((x) => x.knownLeader === 'false'));
    const liveNow = await Promise.all(c.urls.map((u) => getJson<{ Service: { ID: string } }[]>(u, '/v1/health/service/live?passing')));
    const missing = liveNow.map((v) => livePresent.filter((id) => !v?.some((e) => e.Service.ID === id)));
    const v = await close(w, death, [
      `every etcd member SIGKILLed for ${secs(upAt - downAt)} (quorum back after restarting all three)`,
      `reads during the outage: ${samples.length}, ${unanswered.length} not answered 200; from 15 s on, KnownLeader false with a growing LastContact: ${lastContactGrows.join('/')} (last LastContact ${perServer.map((s) => s.at(-1)?.lastContact ?? '-').join('/')} ms)`,
      `a write through each server during the outage: ${writes.join(' | ')}`,
      `live instances still passing on each server after the outage: ${liveNow.map((x) => x?.length ?? '-').join('/')} of ${livePresent.length}`,
    ]);
    expect(unanswered, 'reads answer during the outage').toEqual([]);
    expect(lastContactGrows, 'KnownLeader false and a growing LastContact on every server').toEqual(c.urls.map(() => true));
    expect(writes, 'writes answer 503 retryable').toEqual(c.urls.map(() => expect.stringMatching(/^retry: 503 BEACON_ERR_/) as unknown));
    expect(missing, 'nothing deregistered or out of passing because of the outage').toEqual(c.urls.map(() => []));
    // Heartbeats are taken through the outage (refused, the gap would be the whole minute).
    expect(v.beatGapMs, 'heartbeats acknowledged during the outage, not refused for its length').toBeLessThan(OUTAGE_MS / 2);
    expectInvariants(v);
  }, 240_000);

  it('6. compaction past a lagging watcher: the servers re-list and converge', async () => {
    const victim = c.proxied;
    const w = await open(6, victim);
    const url = c.urls[victim];
    // A client blocking query on the server that will fall behind.
    const first = await call(url, 'GET', '/v1/catalog/service/bulk');
    const index0 = first.kind === 'ok' ? Number(first.headers['x-consul-index']) : 0;
    const blocking = call(url, 'GET', `/v1/catalog/service/bulk?index=${index0}&wait=60s`, undefined, 70_000);
    // The server's watches break and fall behind while many writes happen through the others.
    c.proxy.cut();
    const cutAt = Date.now();
    observed = () => c.names.map((_, i) => i).filter((i) => c.answering(i) && i !== victim);
    const writers = observed();
    let bulk = 0;
    const bulkState = new Map<string, 'present' | 'absent' | 'unknown'>();
    await Promise.all(
      Array.from({ length: 6 }, async (_, k) => {
        while (Date.now() - cutAt < 1500) {
          const n = bulk++;
          const id = `bulk-${n}`;
          const o = await call(c.urls[writers[k % writers.length]], 'PUT', '/v1/agent/service/register', { ID: id, Name: 'bulk', Port: 1 });
          bulkState.set(id, o.kind === 'ok' ? 'present' : 'unknown');
          if (o.kind !== 'ok' || n % 3 !== 0) continue;
          const d = await call(c.urls[writers[(k + 1) % writers.length]], 'PUT', `/v1/agent/service/deregister/${id}`);
          bulkState.set(id, d.kind === 'ok' ? 'absent' : 'unknown');
        }
      }),
    );
    const range = await c.etcd.call('/v3/kv/range', { key: Buffer.from('\0').toString('base64'), limit: 1 });
    const revision = Number((range.header as { revision: string }).revision);
    await c.etcd.call('/v3/kv/compaction', { revision: String(revision), physical: true });
    c.proxy.restore();
    const restoredAt = Date.now();
    observed = () => c.names.map((_, i) => i).filter((i) => c.answering(i));
    const woke = await blocking;
    const wokeIndex = woke.kind === 'ok' ? Number(woke.headers['x-consul-index']) : 0;
    // The bulk writes as every server has them now.
    const bulkWrong = await Promise.all(
      c.urls.map(async (u) => {
        const list = await getJson<{ ServiceID: string }[]>(u, '/v1/catalog/service/bulk?consistent', 5000);
        if (!list) return ['unreadable'];
        const ids = new Set(list.map((x) => x.ServiceID));
        return [...bulkState].filter(([id, st]) => (st === 'present' && !ids.has(id)) || (st === 'absent' && ids.has(id))).map(([id, st]) => `${id} (${st})`);
      }),
    );
    const death = killTarget(w.doomed, 'doomed');
    await untilGone(death);
    // Converged, once no client writes: every server answers the same bodies. X-Consul-Index may
    // differ (a server that re-listed gives its data the listing's revision), but every index is
    // a store revision shared by all servers, so an index from any server is a valid start on
    // any other: a blocking query carried across never misses a change.
    const paths = ['/v1/catalog/services', '/v1/health/service/bulk', '/v1/health/service/churn', '/v1/health/service/live', '/v1/health/service/doomed'];
    type View = { index: string; body: string }[];
    const read = (u: string): Promise<View> =>
      Promise.all(
        paths.map(async (p) => {
          const o = await call(u, 'GET', p);
          return o.kind === 'ok' ? { index: String(o.headers['x-consul-index']), body: o.text } : { index: '-', body: o.why };
        }),
      );
    const sameBodies = (vs: View[]) => vs.every((v) => v.every((x, k) => x.body === vs[0][k].body));
    let views: View[] = [];
    let bodiesSame = false;
    let carried: string[] = [];
    const compare = async (): Promise<string[]> => {
      const t0 = Date.now();
      while (Date.now() - t0 < 20_000) {
        views = await Promise.all(c.urls.map(read));
        bodiesSame = sameBodies(views);
        if (bodiesSame) break;
        await sleep(500);
      }
      const bodyDiffs = views.flatMap((v, i) =>
        v.flatMap((x, k) => (x.body === views[0][k].body ? [] : [`${c.names[i]} ${paths[k]}: ${firstDiff(views[0][k].body, x.body)}`])),
      );
      const indexes = views.map((v, i) => `${c.names[i]} ${v.map((x) => x.index).join(',')}`);
      // The highest index any server gave for bulk, carried to every server as a client failing
      // over would: a server whose own index differs answers at once (its data, unchanged) and the
      // client blocks again from that server's index; either way the next change is seen.
      const top = Math.max(...views.map((v) => Number(v[1].index)));
      const follow = async (u: string): Promise<string> => {
        let index = top;
        for (let round = 0; round < 3; round++) {
          const o = await call(u, 'GET', `/v1/health/service/bulk?index=${index}&wait=30s`, undefined, 40_000);
          if (o.kind !== 'ok') return o.why;
          if (o.text.includes('"bulk-carried"')) return 'woke with the change';
          index = Number(o.headers['x-consul-index']);
        }
        return 'never saw the change';
      };
      const waits = c.urls.map(follow);
      await sleep(1000);
      const mark = await call(c.urls[0], 'PUT', '/v1/agent/service/register', { ID: 'bulk-carried', Name: 'bulk', Port: 2 });
      carried = (await Promise.all(waits)).map((r, i) => (r === 'woke with the change' ? r : `${c.names[i]}: ${r}`));
      return [
        `with the churn stopped, ${paths.join(', ')} on every server: ${bodiesSame ? 'the same bodies' : `different bodies (${bodyDiffs.join('; ')})`}; X-Consul-Index ${indexes.join(' | ')}`,
        `the highest index for bulk (${top}) carried to every server as ?index: ${carried.join(' | ')} (the change written ${mark.kind === 'ok' ? 'through ' + c.names[0] : `failed: ${mark.why}`})`,
      ];
    };
    const v = await close(
      w,
      death,
      [
        `${c.names[victim]} cut off for ${secs(restoredAt - cutAt)} while ${bulk} registrations (a third deregistered) went through the others; etcd compacted at revision ${revision}, past its watches`,
        `bulk writes not as acknowledged, per server: ${bulkWrong.map((x) => x.length).join('/')}`,
        `the lagging blocking query (index ${index0}) woke with ${woke.kind === 'ok' ? `index ${wokeIndex}` : woke.why}`,
      ],
      compare,
    );
    expect(woke.kind, 'the lagging blocking query answers').toBe('ok');
    expect(wokeIndex).toBeGreaterThan(index0);
    expect(bulkWrong, 'every acknowledged bulk write is reflected on every server').toEqual(c.urls.map(() => []));
    expect(bodiesSame, 'every server answers the same bodies').toBe(true);
    expect(carried, 'an index from any server, carried to any other, wakes on the next change').toEqual(c.urls.map(() => 'woke with the change'));
    expectInvariants(v);
  }, 180_000);
});
