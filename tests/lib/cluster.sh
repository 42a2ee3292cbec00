# tests/lib/cluster.sh - helpers for the multi-node cases in tests/swarm/ (sourced after e2e.sh).
# The cluster is the one tests/swarm/cluster built (tests/swarm/run builds it): every docker
# command of the case, e2e.sh's leftover check included, and the scheduler talk to its manager.
# shellcheck shell=bash

CLUSTER=$E2E_REPO/tests/swarm/cluster
CLUSTER_SOCK=/run/sfc/m1.sock
export DOCKER_HOST=unix://$CLUSTER_SOCK
export SWARMFLOW_DOCKER_HOST=$DOCKER_HOST
# m1's TCP+TLS endpoint and a client's certificates for it (DOCKER_CERT_PATH layout: ca.pem,
# cert.pem, key.pem), made by tests/swarm/cluster up.
# shellcheck disable=SC2034 # used by the cases
CLUSTER_TLS_HOST=tcp://10.77.0.1:2376
# shellcheck disable=SC2034
CLUSTER_TLS_DIR=/run/sfc/tls

"$CLUSTER" status >/dev/null 2>&1 || fail "no cluster answers at $CLUSTER_SOCK (tests/swarm/cluster up)"

# now_ms: the wall clock in milliseconds.
now_ms() { date +%s%3N; }

# api PATH: GET PATH from the manager's Engine API (JSON on stdout).
api() { curl -sf --max-time 10 --unix-socket "$CLUSTER_SOCK" "http://cluster/v1.41$1"; }

# node_id NAME: the swarm node id of cluster node NAME (m1, w1, ...).
node_id() { docker node inspect "sfc-$1" --format '{{.ID}}'; }

# node_field ID FORMAT: a field of a node by its id (docker node inspect --format).
node_field() { docker node inspect "$1" --format "$2"; }

# node_state NAME: Status.State of a node in the manager's view (ready, down, ...).
node_state() { docker node inspect "sfc-$1" --format '{{.Status.State}}' 2>/dev/null; }

# Sampling what the engine shows of this case's tasks while they run (services and their tasks
# are gone once swarmflow removes them): one line per sample and task, tab-separated:
#   task_id try_number node_id state service_id placement_json
SAMPLES="$E2E_WORK/engine-samples.tsv"
sample_once() {
	local tasks services
	tasks=$(api /tasks) || return 0
	services=$(api /services) || return 0
	jq -r --arg i "$SWARMFLOW_INSTANCE" --argjson svcs "$services" '
		($svcs | map({key: .ID, value: (.Spec.TaskTemplate.Placement // {})}) | from_entries) as $p
		| .[] | .Spec.ContainerSpec.Labels as $l
		| select($l["swarmflow.instance"] == $i and .NodeID != null and .NodeID != "")
		| [$l["swarmflow.task_id"], $l["swarmflow.try_number"], .NodeID, .Status.State,
		   .ServiceID, ($p[.ServiceID] // {} | tojson)] | @tsv' <<<"$tasks" >>"$SAMPLES" || true
}
# sampler_start: samples every 0.2 s in the background until sampler_stop.
SAMPLER_PID=
sampler_start() {
	: >"$SAMPLES"
	(while :; do
		sample_once
		sleep 0.2
	done) &
	SAMPLER_PID=$!
	E2E_PIDS+=("$SAMPLER_PID") # stopped by e2e.sh's cleanup if the case ends early
}
sampler_stop() {
	[[ -n $SAMPLER_PID ]] || return 0
	kill "$SAMPLER_PID" 2>/dev/null || true
	wait "$SAMPLER_PID" 2>/dev/null || true
	SAMPLER_PID=
}
# sampled_node TASK TRY: the node the engine placed that try on ("" when never sampled).
sampled_node() {
	awk -F'\t' -v t="$1" -v n="$2" '$1 == t && $2 == n {print $3; exit}' "$SAMPLES"
}
# sampled_placement TASK TRY: the Placement of the try's service as the engine held it.
sampled_placement() {
	awk -F'\t' -v t="$1" -v n="$2" '$1 == t && $2 == n && $6 != "" {print $6; exit}' "$SAMPLES"
}

# store_try_node TASK TRY RUN_ID: task_tries.node_id of that try; store_ti_node TASK RUN_ID:
# task_instances.node_id.
store_try_node() {
	sqlite "SELECT coalesce(t.node_id, '') FROM task_tries t JOIN task_instances i ON i.id = t.ti_pk
		WHERE i.run_id = '$3' AND i.task_id = '$1' AND t.try_number = $2"
}
store_ti_node() {
	sqlite "SELECT coalesce(node_id, '') FROM task_instances WHERE run_id = '$2' AND task_id = '$1'"
}

# node_logs_readable NODE: a one-shot service on NODE prints a line and the manager gives it
# back within 10 s. A node can be ready again after a partition while the managers still call
# its logs "not available" for minutes (seen in CI: 40_manager_api and 50_failover, after
# 30_partition, then lost every log of w1).
node_logs_readable() {
	local name="sfc-logprobe-$RANDOM" out i rc=1
	docker service create --quiet --detach --name "$name" --restart-condition none \
		--constraint "node.hostname==sfc-$1" "$IMAGE" echo logs-probe >/dev/null 2>&1 || return 1
	for ((i = 0; i < 20; i++)); do
		out=$(docker service logs --raw "$name" 2>&1) || true
		if [[ $out == *logs-probe* && $out != *"not available"* ]]; then
			rc=0
			break
		fi
		sleep 0.5
	done
	docker service rm "$name" >/dev/null 2>&1 || true
	return "$rc"
}
