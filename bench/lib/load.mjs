// Load generators for the HTTP benchmarks, each run as a separate (pinned) process:
// `wrk` when present (installed with apt-get when missing and we are root), else the undici
// closed-loop generator in load-worker.mjs. Both report { rps, p50, p99, max } (latency in ms).
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir, trackChild } from './cleanup.mjs';
import { pinned, which } from './machine.mjs';
import { cpuTimeMs } from './proc.mjs';

const WORKER = fileURLToPath(new URL('./load-worker.mjs', import.meta.url));

let wrkPath;
/** Path of wrk, installing Debian's package once if it is missing and we may; else null. */
export function ensureWrk() {
  if (wrkPath !== undefined) return wrkPath;
  wrkPath = which('wrk');
  if (wrkPath === null && process.env.BENCH_NO_WRK !== '1' && process.getuid?.() === 0 && which('apt-get')) {
    console.log('bench: wrk is missing; trying `apt-get install -y wrk`');
    try {
      execFileSync('apt-get', ['install', '-y', '-q', 'wrk'], { stdio: 'ignore', timeout: 180_000 });
    } catch {
      /* no package list or no network: fall back */
    }
    wrkPath = which('wrk');
  }
  if (process.env.BENCH_NO_WRK === '1') wrkPath = null;
  return wrkPath;
}

/**
 * Runs a load generator pinned to the load CPU; resolves { out, cpuMs, wallMs } where cpuMs is
 * the generator's own CPU time (sampled from /proc every 50 ms), so a bench can tell when the
 * client, not the server, is the limit.
 */
export function runChild(cmd, args) {
  return new Promise((resolve, reject) => {
    const [c, a] = pinned('load', cmd, args);
    const started = performance.now();
    const child = trackChild(spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let cpuMs = 0;
    const sampler = setInterval(() => {
      const v = cpuTimeMs(child.pid);
      if (Number.isFinite(v)) cpuMs = v;
    }, 50);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      const v = cpuTimeMs(child.pid);
      if (Number.isFinite(v)) cpuMs = v;
    });
    child.stderr.on('data', (d) => (err += d));
    child.once('exit', (code) => {
      clearInterval(sampler);
      if (code === 0) resolve({ out, cpuMs, wallMs: performance.now() - started });
      else reject(new Error(`${cmd} exited with ${code}: ${err || out}`));
    });
  });
}

/**
 * Closed-loop load with the undici generator.
 * `serverPid`, when given, adds the server's CPU time per request to the result.
 * @param {{ origin: string, path: string, connections: number, seconds: number, warmupSeconds?: number, method?: string, body?: string, warmupBody?: string, headers?: Record<string,string>, serverPid?: number }} o
 */
export async function undiciLoad(o) {
  const run = async (opts) => {
    const { out, cpuMs, wallMs } = await runChild(process.execPath, [WORKER, JSON.stringify(opts)]);
    return { ...JSON.parse(out.trim().split('\n').pop()), clientCpu: cpuMs / wallMs };
  };
  if (o.warmupSeconds) await run({ ...o, body: o.warmupBody ?? o.body, seconds: o.warmupSeconds, warmupSeconds: 0 });
  return withCpu(o.serverPid, () => run({ ...o, warmupSeconds: 0 }));
}

/** Runs `fn` and adds the server's CPU time during it (cpuMs, cpuUsPerReq) to its result. */
async function withCpu(pid, fn) {
  const before = pid ? cpuTimeMs(pid) : NaN;
  const r = await fn();
  const cpuMs = pid ? cpuTimeMs(pid) - before : NaN;
  return { ...r, cpuMs, cpuUsPerReq: (cpuMs * 1000) / r.requests };
}

const WRK_DONE = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"errors":%d,"non2xx":%d,"p50_us":%f,"p99_us":%f,"max_us":%f}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`;

/**
 * A wrk script sending `method` to `path` with `body` (if any), their placeholders filled per
 * request as in load-worker.mjs: `{n}`, `{n/A}`, `{n%B}`, `{n/A%B}`.
 */
function wrkRequestScript(method, path, body) {
  return `
local n = -1
local function fill(s)
  s = s:gsub("{n/(%d+)%%(%d+)}", function(a, b) return tostring(math.floor(n / tonumber(a)) % tonumber(b)) end)
  s = s:gsub("{n/(%d+)}", function(a) return tostring(math.floor(n / tonumber(a))) end)
  s = s:gsub("{n%%(%d+)}", function(b) return tostring(n % tonumber(b)) end)
  s = s:gsub("{n}", tostring(n))
  return s
end
local path = [==[${path}]==]
local body = ${body === undefined ? 'nil' : `[==[${body}]==]`}
local headers = {}
if body then headers["Content-Type"] = "application/json" end
request = function()
  n = n + 1
  return wrk.format("${method}", fill(path), headers, body and fill(body) or nil)
end
${WRK_DONE}`;
}

let scriptDir;
let wrkScript;
/**
 * Closed-loop load with wrk (one thread, `connections` keep-alive connections, each waiting for
 * its answer); a warm-up run first, then the measured run. GET, or `method` with a templated
 * `body` (`warmupBody` for the warm-up run); the path may hold placeholders too.
 * @param {{ origin: string, path: string, connections: number, seconds: number, warmupSeconds?: number, serverPid?: number, method?: string, body?: string, warmupBody?: string, headers?: Record<string,string> }} o
 */
export async function wrkLoad(o) {
  const wrk = ensureWrk();
  if (!wrk) throw new Error('wrk is not available');
  scriptDir ??= tempDir('beacon-bench-wrk-');
  if (!wrkScript) {
    wrkScript = join(scriptDir, 'done.lua');
    writeFileSync(wrkScript, WRK_DONE);
  }
  const url = `${o.origin}${o.path.includes('{n') ? '/' : o.path}`;
  const script = (body) => {
    if (body === undefined && !o.path.includes('{n')) return wrkScript;
    const file = join(scriptDir, `request-${Math.random().toString(36).slice(2)}.lua`);
    writeFileSync(file, wrkRequestScript(o.method ?? (body === undefined ? 'GET' : 'PUT'), o.path, body));
    return file;
  };
  const base = ['-t1', `-c${o.connections}`, '--timeout', '10s', ...Object.entries(o.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}: ${v}`])];
  // A warm-up body gets its own prefix so that its IDs never collide with the measured run's.
  if (o.warmupSeconds) await runChild(wrk, [...base, '-s', script(o.warmupBody ?? o.body), `-d${o.warmupSeconds}s`, url]);
  const measured = script(o.body);
  return withCpu(o.serverPid, async () => {
    const { out, cpuMs, wallMs } = await runChild(wrk, [...base, '-s', measured, `-d${o.seconds}s`, url]);
    const line = out.split('\n').find((l) => l.startsWith('WRKJSON '));
    if (!line) throw new Error(`unexpected wrk output:\n${out}`);
    const r = JSON.parse(line.slice(8));
    const secs = r.duration_us / 1e6;
    const good = r.requests - r.non2xx;
    return {
      generator: 'wrk',
      requests: good,
      rps: good / secs,
      non2xx: r.non2xx,
      errors: r.errors,
      clientCpu: cpuMs / wallMs,
      p50: r.p50_us / 1000,
      p99: r.p99_us / 1000,
      max: r.max_us / 1000,
    };
  });
}

/** GET load with wrk when available, else with the undici generator. */
export function getLoad(o) {
  return ensureWrk() ? wrkLoad(o) : undiciLoad(o);
}
