#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# k8s_manifest.sh -- a real Kubernetes file (Namespace, ConfigMap,
# Deployment, Services) through `clusterip apply -f` and the watched
# directory: kubectl's lines, skipped kinds named with their position,
# unknown fields warned about, and the Service then resolving with dig.
set -u
. "$top_srcdir/tests/integration/lib.sh"

C="$top_builddir/client/clusterip"
M="$TEST_TMP/manifests"
mkdir -p "$M"
API_PORT=$(free_port)
DNS_PORT=$(free_port)
start_daemon "$TEST_TMP/d.log" --manifests "$M" --state-dir "$TEST_TMP/state" \
	--dns-listen "127.0.0.1:$DNS_PORT" --api-listen "127.0.0.1:$API_PORT" \
	--upstream 127.0.0.1:9 --log-level info
export CLUSTERIP_SERVER="http://127.0.0.1:$API_PORT"
OUT="$TEST_TMP/out"
ERR="$TEST_TMP/err"

F="$TEST_TMP/k8s-app.yaml"
cat > "$F" <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata: {name: backend-config, namespace: shop}
data: {QUOTES: /etc/quotes.txt}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: backend, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {name: backend}}
  template:
    metadata: {labels: {name: backend}}
    spec: {containers: [{name: backend, image: quotes, ports: [{containerPort: 5000}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: backend, namespace: shop, uid: 3f2a}
spec:
  selector: {name: backend}
  ports: [{port: 5000, targetPort: 5000, protocol: TCP}]
  internalTrafficPolicy: Cluster
  ipFamilyPolicy: SingleStack
  sesionAffinity: ClientIP
---
apiVersion: v1
kind: Service
metadata: {name: quotes, namespace: shop}
spec: {type: ExternalName, externalName: quotes.example.com.}
YAML

"$C" apply -f "$F" > "$OUT" 2> "$ERR" || fail "apply of a mixed file: $(cat "$ERR")"
cat > "$TEST_TMP/want" <<'TXT'
namespace/shop skipped (clusterip serves only v1 Services, Pods and Endpoints)
configmap/backend-config skipped (clusterip does not use configuration objects)
deployment.apps/backend skipped (clusterip does not run workloads)
service/backend created
service/quotes created
TXT
diff -u "$TEST_TMP/want" "$OUT" || fail "apply lines differ from kubectl's"
[ "$(cat "$ERR")" = "Warning: $F:29:3: unknown field \"spec.sesionAffinity\"" ] ||
	fail "apply warning: $(cat "$ERR")"
wait_log "$TEST_TMP/d.log" "api: $F:11:1: Deployment/backend \(apps/v1\) skipped: clusterip does not run workloads"
wait_log "$TEST_TMP/d.log" "api: $F:29:3: warning: unknown field \"spec.sesionAffinity\""
pass "apply -f of a mixed file: kubectl's lines, skips logged, warning on stderr"

VIP=$("$C" get svc backend -n shop | awk 'NR == 2 { print $3 }')
case "$VIP" in 127.96.*) ;; *) fail "no VIP for shop/backend: $VIP";; esac
got=$(dig +short +notcp +timeout=2 +tries=1 -p "$DNS_PORT" @127.0.0.1 backend.shop.svc.cluster.local A)
[ "$got" = "$VIP" ] || fail "dig backend.shop: '$got', want $VIP"
out=$(dig +notcp +timeout=2 +tries=1 -p "$DNS_PORT" @127.0.0.1 quotes.shop.svc.cluster.local CNAME)
echo "$out" | grep -Eq "^quotes\.shop\.svc\.cluster\.local\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+CNAME[[:space:]]+quotes\.example\.com\.$" ||
	fail "ExternalName with a trailing dot: $out"
pass "the applied Service resolves with dig; a trailing-dot externalName is one CNAME"

# A supported object in error refuses the whole file, with its position.
sed 's/protocol: TCP/protocol: SCTP/' "$F" > "$TEST_TMP/sctp.yaml"
if "$C" apply -f "$TEST_TMP/sctp.yaml" > "$OUT" 2> "$ERR"; then
	fail "an SCTP port applied: $(cat "$OUT")"
fi
grep -q "$TEST_TMP/sctp.yaml:26:52: ports\[\].protocol: SCTP cannot be forwarded here" "$ERR" ||
	fail "SCTP refusal: $(cat "$ERR")"
# Defined twice in one file: the second one is named.
{ cat "$F"; printf -- '---\nkind: Service\nmetadata: {name: backend, namespace: shop}\nspec: {}\n'; } > "$TEST_TMP/twice.yaml"
if "$C" apply -f "$TEST_TMP/twice.yaml" > "$OUT" 2> "$ERR"; then
	fail "a service defined twice applied"
fi
grep -q "$TEST_TMP/twice.yaml:36:1: service shop/backend is defined twice (first at line 21)" "$ERR" ||
	fail "twice: $(cat "$ERR")"
pass "SCTP and an object defined twice refuse the file with file:line:column"

# Nothing clusterip runs: every object skipped, still a success.
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: only}\ndata: {}\n' |
	"$C" apply -f - > "$OUT" 2> "$ERR" || fail "apply of a lone ConfigMap: $(cat "$ERR")"
[ "$(cat "$OUT")" = "configmap/only skipped (clusterip does not use configuration objects)" ] ||
	fail "lone ConfigMap: $(cat "$OUT")"
[ ! -s "$ERR" ] || fail "lone ConfigMap wrote to stderr: $(cat "$ERR")"
pass "a file of skipped objects only applies nothing and exits 0"

# The same file in the watched directory: skips at info, warnings, loaded.
sed 's/namespace: shop/namespace: watched/' "$F" > "$M/k8s-app.yaml"
wait_log "$TEST_TMP/d.log" "$M/k8s-app.yaml:11:1: Deployment/backend \(apps/v1\) skipped: clusterip does not run workloads"
wait_log "$TEST_TMP/d.log" "$M/k8s-app.yaml:29:3: warning: unknown field \"spec.sesionAffinity\""
wait_log "$TEST_TMP/d.log" "manifest $M/k8s-app.yaml loaded"
got=$(dig +short +notcp +timeout=2 +tries=1 -p "$DNS_PORT" @127.0.0.1 backend.watched.svc.cluster.local A)
case "$got" in 127.96.*) ;; *) fail "dig backend.watched: '$got'";; esac
pass "a watched mixed file loads its Services and logs what it skipped"
stop_daemon
