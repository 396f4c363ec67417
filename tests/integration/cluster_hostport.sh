#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cluster_hostport.sh -- a pod reached at its host's address and host
# port, as a Docker container published at --advertise-address is
# (hostPort, annotation clusterip.io/via-host-port; the mapping from
# Docker's port bindings is unit-tested in test_docker): two daemons
# (hosts a, b) on a real etcd. B publishes a pod at 10.178.0.4 whose
# containerPort 5000 is published on host port 18080; a Service applied
# on A targets port 5000, and a client on A reaches B's 18080 through
# the VIP. A port without a hostPort is no endpoint there.
set -u
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/cluster_lib.sh"

cl_net a b
cl_etcd m1
cl_manifest b <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: web-b
  labels: {app: web}
  annotations: {clusterip.io/via-host-port: "true"}
spec:
  containers:
  - ports:
    - {containerPort: 5000, hostPort: 18080}
    - {containerPort: 6000}
status: {podIP: 10.178.0.4}
YAML
cl_greeter b 10.178.0.4 18080 "hello from b:18080"
cl_daemon a
cl_daemon b --manifests "$TEST_TMP/man-b"
cl_poll_api a /v1/pods/default/web-b '"hostPort": *18080'
cl_apply a '{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"selector":{"app":"web"},"ports":[{"name":"http","port":80,"targetPort":5000},{"name":"other","port":81,"targetPort":6000}]}}'
vip=$(cl_dig a web.default.svc.cluster.local)
[ -n "$vip" ] || fail "no VIP for web on A"
cl_poll_api a /v1/endpoints/default/web '18080'
eps=$(cl_api a http://127.0.0.1:9901/v1/endpoints/default/web)
echo "$eps" | grep -q '"port": *5000' && fail "A's endpoints use the container port: $eps"
echo "$eps" | grep -q '"port": *6000' && fail "an unpublished port is an endpoint on A: $eps"
cl_greeting a "$vip" 80 "hello from b:18080" || fail "through the VIP on A: '$CL_GOT'"
pass "a pod published at B's address: A forwards its targetPort 5000 to B:18080"
