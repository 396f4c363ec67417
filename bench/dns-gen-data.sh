#!/usr/bin/env bash
# Generate the cluster.local. test data set for the DNS benchmarks.
#
#   bench/dns-gen-data.sh [--services N] [--queries N] [--seed S] [--out DIR]
#
# Writes into DIR (default /tmp/dnsbench/N):
#   services.tsv          name <TAB> ip <TAB> port   (neutral list, for any server)
#   cluster.local.zone    RFC 1035 zone (NSD, Knot, PowerDNS bind backend)
#   unbound-local.conf    local-zone/local-data (Unbound)
#   dnsmasq-hosts         addn-hosts file (dnsmasq)
#   dnsmasq-srv.conf      srv-host lines (dnsmasq)
#   queries.txt           dnsperf input: 80% A hits, 10% SRV hits, 10% NXDOMAIN, shuffled
#
# Service N is svc-N.default.svc.cluster.local. A 10.96.0.0+N+1 (inside 10.96.0.0/12),
# with _http._tcp.svc-N.default.svc.cluster.local. SRV 0 100 80 svc-N...
set -euo pipefail
services=1000 queries=100000 seed=42 out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --services) services=$2; shift 2;;
    --queries)  queries=$2; shift 2;;
    --seed)     seed=$2; shift 2;;
    --out)      out=$2; shift 2;;
    -h|--help)  sed -n '2,/^set /{/^#/p}' "$0"; exit 0;;
    *) echo "unknown arg $1" >&2; exit 2;;
  esac
done
out=${out:-/tmp/dnsbench/$services}
mkdir -p "$out"
D=default.svc.cluster.local

awk -v n="$services" -v d="$D" -v o="$out" 'BEGIN {
  zone = o "/cluster.local.zone"; ub = o "/unbound-local.conf"
  hosts = o "/dnsmasq-hosts"; srv = o "/dnsmasq-srv.conf"; tsv = o "/services.tsv"
  print "$ORIGIN cluster.local.\n$TTL 30" > zone
  print "@ 3600 IN SOA ns.cluster.local. hostmaster.cluster.local. 1 7200 3600 1209600 30" > zone
  print "@ 3600 IN NS ns.cluster.local.\nns 3600 IN A 127.0.0.1" > zone
  print "server:\n  local-zone: \"cluster.local.\" static" > ub
  print "  local-data: \"cluster.local. 3600 IN SOA ns.cluster.local. hostmaster.cluster.local. 1 7200 3600 1209600 30\"" > ub
  print "  local-data: \"cluster.local. 3600 IN NS ns.cluster.local.\"" > ub
  for (i = 0; i < n; i++) {
    v = i + 1
    ip = sprintf("10.%d.%d.%d", 96 + int(v / 65536), int(v / 256) % 256, v % 256)
    name = "svc-" i "." d
    printf "%s\t%s\t80\n", name, ip > tsv
    printf "svc-%d.default.svc 30 IN A %s\n", i, ip > zone
    printf "_http._tcp.svc-%d.default.svc 30 IN SRV 0 100 80 svc-%d.default.svc\n", i, i > zone
    printf "  local-data: \"%s. 30 IN A %s\"\n", name, ip > ub
    printf "  local-data: \"_http._tcp.%s. 30 IN SRV 0 100 80 %s.\"\n", name, name > ub
    printf "%s %s\n", ip, name > hosts
    printf "srv-host=_http._tcp.%s,%s,80,0,100\n", name, name > srv
  }
}'

# Query mix: 80% A hit, 10% SRV hit, 10% NXDOMAIN; random services; shuffled.
awk -v n="$services" -v q="$queries" -v s="$seed" -v d="$D" 'BEGIN {
  srand(s)
  for (j = 0; j < q; j++) {
    r = rand(); i = int(rand() * n)
    if (r < 0.8)      printf "svc-%d.%s A\n", i, d
    else if (r < 0.9) printf "_http._tcp.svc-%d.%s SRV\n", i, d
    else              printf "nx-%d.%s A\n", int(rand() * 1000000), d
  }
}' > "$out/queries.txt"

n=$(wc -l < "$out/queries.txt"); nx=$(grep -c "^nx-" "$out/queries.txt"); srv=$(grep -c " SRV$" "$out/queries.txt")
echo "$out: $services services, $n queries: $((n - nx - srv)) A hits, $srv SRV, $nx NXDOMAIN"
