// What security costs on the read path, side by side in one run: GET /v1/health/service/web
// (10 instances) on three Beacon servers of this build under the same closed-loop load:
//   - open:  the default (ACLs allow everything, no token, plain HTTP);
//   - acl:   --acl-default-policy deny, each request with a read-only token (the answer is
//            resolved, filtered and cached per token); goal: at least 0.9x open's req/s;
//   - https: --tls-cert/--tls-key (TLS 1.3 on kept-alive connections); the ratio is reported.
// Rounds alternate the order; ratios are per round (pairs measured back to back), then the median.
//
// Usage: npm run build && node bench/security.mjs [--seconds 2] [--warmup 2] [--rounds 4] [--connections 64]
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { requireBuild, startBeacon } from './lib/beacon.mjs';
import { tempDir } from './lib/cleanup.mjs';
import { getLoad } from './lib/load.mjs';
import { machineLine, which } from './lib/machine.mjs';
import { fmtInt, fmtMs, fmtRatio, median, printTable } from './lib/stats.mjs';

requireBuild('bench/security.mjs');
const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '4' },
    connections: { type: 'string', default: '64' },
  },
});
const SECONDS = Number(flags.seconds);
const WARMUP = Number(flags.warmup);
const ROUNDS = Number(flags.rounds);
const CONNECTIONS = Number(flags.connections);
const PATH = '/v1/health/service/web';

console.log(`security: GET ${PATH} (10 instances), ${CONNECTIONS} keep-alive connections, ${ROUNDS} rounds of ${SECONDS}s per target`);
console.log(`machine: ${machineLine()}`);
if (!which('openssl')) throw new Error('openssl is needed to make the HTTPS certificate (apt-get install -y openssl)');

// A CA-less self-signed certificate for 127.0.0.1 (the load generators do not verify it).
const dir = tempDir('beacon-bench-tls-');
execFileSync(
  'openssl',
  [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ],
  { stdio: 'ignore' },
);

const insecure = new Agent({ connect: { rejectUnauthorized: false } });
async function call(origin, method, path, token, body) {
  const res = await request(`${origin}${path}`, {
    method,
    dispatcher: insecure,
    headers: token ? { 'x-consul-token': token } : {},
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

async function seed(origin, token) {
  for (let i = 0; i < 10; i++) {
    await call(origin, 'PUT', '/v1/catalog/register', token, {
      Node: `node-${i}`,
      Address: `10.0.0.${i + 1}`,
      Service: { ID: `web-${i}`, Service: 'web', Port: 8080, Tags: ['v2'] },
      Check: { CheckID: `service:web-${i}`, Name: 'web health', Status: 'passing', ServiceID: `web-${i}` },
    });
  }
}

const open = await startBeacon();
const acl = await startBeacon({ args: ['--acl-default-policy', 'deny'] });
const tls = await startBeacon({ args: ['--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')] });
const tlsUrl = tls.url.replace(/^http:/, 'https:');
await seed(open.url);
await seed(tlsUrl);
const { SecretID: mgmt } = await call(acl.url, 'PUT', '/v1/acl/bootstrap');
await seed(acl.url, mgmt);
await call(acl.url, 'PUT', '/v1/acl/policy', mgmt, { Name: 'read', Rules: 'service_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }' });
const { SecretID: reader } = await call(acl.url, 'PUT', '/v1/acl/token', mgmt, { Policies: [{ Name: 'read' }] });
const seen = await call(acl.url, 'GET', PATH, reader);
if (seen.length !== 10) throw new Error(`the read-only token sees ${seen.length} instances, expected 10`);

const targets = {
  open: { origin: open.url, pid: open.pid },
  acl: { origin: acl.url, pid: acl.pid, headers: { 'X-Consul-Token': reader } },
  https: { origin: tlsUrl, pid: tls.pid },
};
const results = { open: [], acl: [], https: [] };
const ratios = { acl: [], https: [] };
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? ['open', 'acl', 'https'] : ['https', 'acl', 'open'];
  for (const t of order) {
    const x = targets[t];
    const res = await getLoad({
      origin: x.origin,
      serverPid: x.pid,
      path: PATH,
      headers: x.headers,
      connections: CONNECTIONS,
      seconds: SECONDS,
      warmupSeconds: r === 0 ? WARMUP : 0,
    });
    if (res.errors > 0 || res.non2xx > 0) throw new Error(`${t}: ${res.errors} errors, ${res.non2xx} non-2xx answers`);
    results[t].push(res);
  }
  ratios.acl.push(results.acl[r].rps / results.open[r].rps);
  ratios.https.push(results.https[r].rps / results.open[r].rps);
}
await Promise.all([open.stop(), acl.stop(), tls.stop()]);
await insecure.close();

const row = (name, list, ratio) => ({
  target: name,
  generator: list[0].generator,
  rps: fmtInt(median(list.map((x) => x.rps))),
  p50: fmtMs(median(list.map((x) => x.p50))),
  p99: fmtMs(median(list.map((x) => x.p99))),
  cpu: fmtInt(median(list.map((x) => x.cpuUsPerReq))),
  ratio: ratio === undefined ? '1.00x' : fmtRatio(median(ratio)),
  ratios: ratio === undefined ? '' : ratio.map(fmtRatio).join(' / '),
});
printTable(
  `GET ${PATH} (median of ${ROUNDS} rounds)`,
  [
    ['target', 'target'],
    ['load', 'generator'],
    ['req/s', 'rps'],
    ['p50 ms', 'p50'],
    ['p99 ms', 'p99'],
    ['server CPU us/req', 'cpu'],
    ['vs open', 'ratio'],
    ['per round', 'ratios'],
  ],
  [row('open (no ACL, HTTP)', results.open), row('ACL deny + read token', results.acl, ratios.acl), row('HTTPS', results.https, ratios.https)],
);
const aclRatio = median(ratios.acl);
console.log(`ACLs on: ${fmtRatio(aclRatio)} of the open server's req/s (goal >= 0.9x: ${aclRatio >= 0.9 ? 'MET' : 'MISSED'})`);
console.log(`HTTPS: ${fmtRatio(median(ratios.https))} of plain HTTP's req/s (reported, no goal)`);
