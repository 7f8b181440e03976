// What machine a bench runs on, and CPU pinning: on a multi-core machine with `taskset`, the
// server under test gets CPU 0 and the load generator CPU 1, so they do not fight for a core
// and every target in a comparison is measured under the same conditions.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';

/** Absolute path of `cmd` on PATH, or null. */
export function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(`${dir}/${cmd}`)) return `${dir}/${cmd}`;
  }
  return null;
}

const TASKSET = which('taskset');
const CORES = availableParallelism();

/** True when server and load generator run on separate, pinned CPUs. */
export let pinning = TASKSET !== null && CORES >= 2 && process.env.BENCH_NO_PIN !== '1';

/**
 * Turns pinning off for the rest of this bench: for benchmarks whose servers outnumber the
 * cores (a cluster on one machine), where one core for all servers would measure a one-core
 * cluster.
 */
export function disablePinning() {
  pinning = false;
}

/** The CPU a role runs on: 'server' (0) or 'load' (1). */
const CPU = { server: '0', load: '1' };

/** Wraps a command so it runs pinned to the role's CPU (a no-op when pinning is off). */
export function pinned(role, cmd, args) {
  if (!pinning) return [cmd, args];
  return [TASKSET, ['-c', CPU[role], cmd, ...args]];
}

/** One line describing the machine, for bench headers and docs. */
export function machineLine() {
  const model = cpus()[0]?.model?.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
  let kernel = '';
  try {
    kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  } catch {
    /* no uname */
  }
  return (
    `${CORES} cores (${model}), ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${kernel}, Node ${process.version}; ` +
    (pinning ? 'server pinned to CPU 0, load generator to CPU 1' : 'no CPU pinning')
  );
}

/**
 * How busy the machine was lately (load average, and the share of time some task waited for a
 * CPU over the last 60 s from /proc/pressure/cpu): printed with results, since on a shared
 * machine other work skews absolute figures (ratios measured side by side suffer less).
 */
export function busyLine() {
  let load = '';
  let pressure = '';
  try {
    load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    /* not Linux */
  }
  try {
    const m = readFileSync('/proc/pressure/cpu', 'utf8').match(/some avg10=([\d.]+) avg60=([\d.]+)/);
    if (m) pressure = `, CPU pressure ${m[2]}% (60 s)`;
  } catch {
    /* no PSI */
  }
  return load ? `machine load: load average ${load}${pressure}` : '';
}
