#!/usr/bin/env bash
# Installs the system tools Beacon's tests use when they are missing (Debian packages):
#   dig (dnsutils) for the DNS tests; nsd as a real upstream for the DNS forwarding test;
#   python3-consul for the python-consul e2e test; etcd (etcd-server) for the etcd store driver's
#   tests, which start a real three-member cluster (test/helpers/etcd-cluster.ts); chromium for the
#   web UI's end-to-end tests (driven by playwright-core); dnsperf for the DNS rate-limit test
#   and the DNS benchmark.
# Benchmarks additionally use haproxy: `scripts/ensure-tools.sh --bench`.
set -euo pipefail
need=()
command -v dig >/dev/null 2>&1 || need+=(dnsutils)
# NSD, a real authoritative server, for test/integration/dns-forward.test.ts (and the DNS bench)
command -v nsd >/dev/null 2>&1 || [ -x /usr/sbin/nsd ] || need+=(nsd)
# python-consul (a second, independent Consul client) for test/e2e/python-consul.test.ts
/usr/bin/python3 -c 'import consul' >/dev/null 2>&1 || need+=(python3-consul)
# etcd 3.4 for src/store/etcd's tests and the catalog's concurrency suite on etcd
command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ] || need+=(etcd-server)
# dnsperf for the DNS response-rate-limit test (a burst from one source) and the DNS bench
command -v dnsperf >/dev/null 2>&1 || need+=(dnsperf)
# Chromium for the web UI's end-to-end tests (test/e2e/ui.test.ts) and bench/ui-events.mjs
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
if [ "${1:-}" = "--bench" ]; then
  # HAProxy 2.6, the baseline of bench/gateway.mjs
  command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
fi
if [ ${#need[@]} -eq 0 ]; then
  echo "ensure-tools: everything present"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-tools: missing ${need[*]}; install them (apt-get install -y ${need[*]}) or run as root" >&2
  exit 1
fi
echo "ensure-tools: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
echo "ensure-tools: installed ${need[*]}"
