// Bench target (c): NSD (NLnet Labs' authoritative server, Debian's `nsd`), one server
// process, response-rate limiting off, serving records.mjs from a zone file in a temp dir.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATACENTER, DOMAIN, NODES, NODE_TTL, SERVICES, SERVICE_TTL, addressOf } from './records.mjs';

export function zoneFile() {
  const lines = [`$ORIGIN ${DOMAIN}.`, `@ 0 IN SOA ns.${DOMAIN}. hostmaster.${DOMAIN}. 1 3600 600 86400 0`, `@ 0 IN NS ns.${DOMAIN}.`, 'ns 0 IN A 127.0.0.1'];
  for (const n of NODES) lines.push(`${n.node}.node ${NODE_TTL} IN A ${n.address}`);
  for (const [service, nodes] of Object.entries(SERVICES)) {
    for (const node of nodes) {
      lines.push(`${service}.service ${SERVICE_TTL} IN A ${addressOf(node)}`);
      lines.push(`${service}.service ${SERVICE_TTL} IN SRV 1 1 8080 ${node}.node.${DATACENTER}.${DOMAIN}.`);
    }
  }
  for (const n of NODES) lines.push(`${n.node}.node.${DATACENTER} ${SERVICE_TTL} IN A ${n.address}`);
  return `${lines.join('\n')}\n`;
}

/** Starts `nsd -d` on 127.0.0.1:port with its files in dir; resolves to the child process. */
export function startNsd(nsdPath, dir, port) {
  writeFileSync(join(dir, `${DOMAIN}.zone`), zoneFile());
  writeFileSync(
    join(dir, 'nsd.conf'),
    `server:
  ip-address: 127.0.0.1@${port}
  port: ${port}
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "${dir}"
  pidfile: "${join(dir, 'nsd.pid')}"
  database: ""
  xfrdfile: "${join(dir, 'xfrd.state')}"
  zonelistfile: "${join(dir, 'zone.list')}"
  logfile: "${join(dir, 'nsd.log')}"
  verbosity: 0
  hide-version: yes
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
  minimal-responses: yes
remote-control:
  control-enable: no
zone:
  name: ${DOMAIN}
  zonefile: ${DOMAIN}.zone
`,
  );
  return spawn(nsdPath, ['-d', '-c', join(dir, 'nsd.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
}
