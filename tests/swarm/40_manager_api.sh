#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 40_manager_api: swarmflow needs a manager's API (issue 8, item 4), on real engines:
#  - pointed at a worker's engine (w1's socket), `dags test` and `scheduler` exit 1 at once with
#    "... is a swarm worker; swarmflow needs a manager's API ..." naming that engine, and record
#    no run (the scheduler does not wait for the engine or a lease first);
#  - docker_host may point at a manager over TCP+TLS: m1 listens on tcp://10.77.0.1:2376 with
#    --tlsverify and the certificates tests/swarm/cluster made (/run/sfc/tls: CA, server
#    certificate for IP:10.77.0.1, client certificate in the DOCKER_CERT_PATH layout). A run
#    whose task is constrained to the workers goes through it (DOCKER_HOST, DOCKER_TLS_VERIFY,
#    DOCKER_CERT_PATH; SWARMFLOW_DOCKER_HOST unset), its log holds the task's output and the try
#    ran on w1 or w2; a DOCKER_CERT_PATH without cert.pem is named in the error; a client
#    certificate from another CA is refused by the engine and nothing is recorded as running.
# Measured: the run over TLS, and how fast the scheduler gives up on a worker.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
# shellcheck source=../lib/cluster.sh
. "$E2E_REPO/tests/lib/cluster.sh"

TLS_DIR=$CLUSTER_TLS_DIR
TLS_HOST=$CLUSTER_TLS_HOST
WORKER_HOST=unix:///run/sfc/w1.sock
for f in ca.pem cert.pem key.pem; do assert_file "$TLS_DIR/$f" "the cluster's TLS $f"; done

write_dag refused <<EOF_DAG
dag refused {
  task a {
    image = "$IMAGE"
    shell = "true"
  }
}
EOF_DAG

write_dag overtls <<EOF_DAG
dag overtls {
  schedule   = "none"
  start_date = "2026-01-01"
  task hello {
    image       = "$IMAGE"
    hostname    = "{{.Node.Hostname}}"
    constraints = {"node.role==worker"}
    shell       = "echo hello over tls from \$(hostname)"
  }
}
EOF_DAG

# tls_run CERT_PATH ARGS...: sf_run against m1's TCP+TLS endpoint with that DOCKER_CERT_PATH
# (SWARMFLOW_DOCKER_HOST, which cluster.sh exports, unset meanwhile: DOCKER_HOST is the engine).
tls_run() {
	local certs=$1 saved=$SWARMFLOW_DOCKER_HOST
	shift
	unset SWARMFLOW_DOCKER_HOST
	DOCKER_HOST=$TLS_HOST DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$certs sf_run "$@"
	export SWARMFLOW_DOCKER_HOST=$saved
}
running_count() {
	sqlite "SELECT (SELECT count(*) FROM dag_runs WHERE state = 'running')
		+ (SELECT count(*) FROM task_instances WHERE state = 'running')"
}

step "a worker's engine: w1 ($(docker -H "$WORKER_HOST" info --format 'ControlAvailable={{.Swarm.ControlAvailable}} {{.Swarm.LocalNodeState}}'))"
export SWARMFLOW_DOCKER_HOST=$WORKER_HOST
sf_run dags test refused
assert_eq 1 "$RC" "dags test against the worker w1"
assert_contains "$OUT" "is a swarm worker; swarmflow needs a manager's API" "dags test's error"
assert_contains "$OUT" "$WORKER_HOST" "dags test's error names the engine"

echo "\$ timeout 20 swarmflow scheduler"
t0=$(now_ms)
RC=0
OUT=$(timeout --kill-after=5 20 "$SWARMFLOW_BIN" scheduler 2>&1) || RC=$?
sched_ms=$(($(now_ms) - t0))
printf '%s\n(exit %d after %d ms)\n' "$OUT" "$RC" "$sched_ms"
assert_eq 1 "$RC" "scheduler against the worker w1 (124: still running after 20 s)"
assert_contains "$OUT" "is a swarm worker; swarmflow needs a manager's API" "the scheduler's error"
assert_contains "$OUT" "$WORKER_HOST" "the scheduler's error names the engine"
((sched_ms < 5000)) || fail "the scheduler took ${sched_ms} ms to give up on a worker (< 5 s expected)"
assert_eq 0 "$(runs_json refused | jq length)" "runs recorded against the worker"
assert_eq 0 "$(runs_json | jq length)" "runs recorded at all"
export SWARMFLOW_DOCKER_HOST=unix://$CLUSTER_SOCK

step "m1 over TCP+TLS ($TLS_HOST, DOCKER_CERT_PATH=$TLS_DIR): a task on a worker"
t0=$(now_ms)
tls_run "$TLS_DIR" dags test overtls --run-id tls-1
tls_ms=$(($(now_ms) - t0))
assert_eq 0 "$RC" "dags test over TLS"
tasks=$(tasks_json overtls tls-1)
jq -c '.[] | {task_id, state, try_number, error}' <<<"$tasks"
assert_eq success "$(task_field "$tasks" hello state)" "state of hello"
node=$(store_try_node hello 1 tls-1)
w1=$(node_id w1)
w2=$(node_id w2)
case $node in
"$w1") host=sfc-w1 ;;
"$w2") host=sfc-w2 ;;
*) fail "try 1 of hello ran on node '$node', neither w1 ($w1) nor w2 ($w2)" ;;
esac
echo "try 1 ran on $host ($node)"
assert_eq "$node" "$(store_ti_node hello tls-1)" "task_instances.node_id of hello"
tls_run "$TLS_DIR" tasks logs overtls tls-1 hello
assert_eq 0 "$RC" "tasks logs over TLS"
assert_contains "$OUT" "hello over tls from $host" "the log of hello"
echo "MEASURED: dags test over TCP+TLS to m1, one task on $host: $((tls_ms / 1000)).$((tls_ms % 1000 / 100))s; the scheduler refused the worker w1 in ${sched_ms} ms"

step "DOCKER_CERT_PATH with only ca.pem: the missing cert.pem is named"
nocert="$E2E_WORK/nocert"
mkdir -p "$nocert"
cp "$TLS_DIR/ca.pem" "$nocert/"
tls_run "$nocert" dags test overtls --run-id tls-nocert
assert_eq 1 "$RC" "dags test without a client certificate"
assert_contains "$OUT" "$nocert/cert.pem" "the error names the missing certificate"

step "a client certificate from another CA is refused by m1"
other="$E2E_WORK/other"
mkdir -p "$other"
(
	cd "$other"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca \
		-keyout other-ca-key.pem -out other-ca.pem
	openssl req -newkey rsa:2048 -nodes -subj /CN=intruder -keyout key.pem -out client.csr
	printf 'extendedKeyUsage=clientAuth\n' >client.ext
	openssl x509 -req -in client.csr -CA other-ca.pem -CAkey other-ca-key.pem -CAcreateserial \
		-days 2 -extfile client.ext -out cert.pem
	cp "$TLS_DIR/ca.pem" ca.pem
) >"$E2E_WORK/openssl.log" 2>&1 || fail "openssl failed: $(tail -5 "$E2E_WORK/openssl.log")"
tls_run "$other" dags test overtls --run-id tls-intruder
assert_eq 1 "$RC" "dags test with a client certificate from another CA"
assert_contains "$OUT" "10.77.0.1:2376" "the error names the engine address"
assert_eq "tls-1" "$(runs_json overtls | jq -r '[.[].run_id] | join(",")')" "runs of overtls: only the one that went through"
assert_eq 0 "$(running_count)" "runs and task instances recorded as running"
echo "ok"
