#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 50_failover: the scheduler as a stack service (stacks/swarmflow.yml + stacks/swarmflow-ha.yml,
# the swarmflow image) on the managers m2 and m3, with its state in one host folder both mount
# (standing in for NFS or a volume plugin) and each container talking to its own node's engine.
#   A. One replica. The node that runs it crashes (every process of it SIGKILLed) while a task
#      runs on a worker: Swarm starts the scheduler on the other manager, it takes the lease over
#      once lease_timeout (5 s) passes without a renewal, adopts the running try and finishes
#      the run; a run triggered during the outage runs too. No try runs twice.
#   B. Two replicas, one per manager: exactly one holds the lease, the other is a standby. The
#      holder's dockerd is killed (its container keeps running, cut off from its engine): after
#      lease_timeout without an answer from its engine it hands the lease over and exits; the
#      standby takes over and finishes the run. No try runs twice.
# Printed: the failover times.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
# shellcheck source=../lib/cluster.sh
. "$E2E_REPO/tests/lib/cluster.sh"
# shellcheck source=../lib/image.sh
. "$E2E_REPO/tests/lib/image.sh"

LEASE_S=5
STACK=$SWARMFLOW_INSTANCE
SVC=${STACK}_scheduler
MAIN_ENGINE=unix:///var/run/docker.sock

write_dag failover <<EOF_DAG
dag failover {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image       = "$IMAGE"
    constraints = {"node.role==worker"}
  }
  task long {
    shell = "echo long starts on \$(hostname); sleep {{ conf.sleep }}; echo long-done"
  }
  task after {
    upstream = {long}
    shell    = "echo after-ok"
  }
}
EOF_DAG

step "the swarmflow image, on m2 and m3"
DOCKER_HOST=$MAIN_ENGINE image_build "$E2E_WORK/image-build.log" || fail "image build failed"
want=$(DOCKER_HOST=$MAIN_ENGINE image_id "$SWARMFLOW_IMAGE")
for n in m2 m3; do
	if [[ $(docker -H "unix:///run/sfc/$n.sock" image inspect --format '{{.Id}}' "$SWARMFLOW_IMAGE" 2>/dev/null) != "$want" ]]; then
		docker -H "$MAIN_ENGINE" save "$SWARMFLOW_IMAGE" | docker -H "unix:///run/sfc/$n.sock" load -q >/dev/null ||
			fail "cannot load $SWARMFLOW_IMAGE into $n"
	fi
	docker node update --label-add sched=yes "sfc-$n" >/dev/null
done

step "deploy the stack: state in $SWARMFLOW_STATE_DIR (shared by both managers)"
token=$E2E_WORK/api_token
(umask 077 && openssl rand -hex 24 >"$token")
cat >"$E2E_WORK/test-overlay.yml" <<EOF_YML
version: "3.8"
services:
  scheduler:
    environment:
      SWARMFLOW_LEASE_TIMEOUT: "${LEASE_S}s"
      SWARMFLOW_POLL_INTERVAL: "0.5"
      SWARMFLOW_LOG_LEVEL: debug
    deploy:
      placement:
        constraints: ["node.labels.sched == yes"]
EOF_YML
deploy() {
	SWARMFLOW_INSTANCE=$STACK SWARMFLOW_DAGS=$SWARMFLOW_DAGS_FOLDER SWARMFLOW_STATE=$SWARMFLOW_STATE_DIR \
		SWARMFLOW_ENGINE_SOCKET='/run/sfc/{{.Node.Hostname}}.sock' SWARMFLOW_API_TOKEN_FILE=$token \
		docker stack deploy -c "$E2E_REPO/stacks/swarmflow.yml" -c "$E2E_REPO/stacks/swarmflow-ha.yml" \
		-c "$E2E_WORK/test-overlay.yml" "$STACK" >"$E2E_WORK/deploy.log" 2>&1 ||
		fail "docker stack deploy failed: $(cat "$E2E_WORK/deploy.log")"
}
stack_down() {
	set +e
	timeout 10 docker service logs --raw --timestamps "$SVC" >"$E2E_WORK/scheduler-service.log" 2>&1
	docker stack rm "$STACK" >/dev/null 2>&1
	local t=0
	while docker service inspect "$SVC" >/dev/null 2>&1 && ((t++ < 30)); do sleep 1; done
	for n in m2 m3; do docker node update --label-rm sched "sfc-$n" >/dev/null 2>&1; done
	"$CLUSTER" start m2 >/dev/null 2>&1
	"$CLUSTER" start m3 >/dev/null 2>&1
	return 0
}
trap 'rc=$?; stack_down; (exit $rc); e2e_cleanup' EXIT
deploy

# sched_nodes: the nodes (sfc-m2 ...) of the scheduler's tasks that run now.
sched_nodes() {
	docker service ps "$SVC" --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' 2>/dev/null |
		awk '$2 == "Running" {print $1}' | sort
}
lease() { sqlite "SELECT coalesce(holder, '') || '|' || token FROM scheduler_lease"; }
lease_token() { sqlite "SELECT token FROM scheduler_lease"; }
lease_held() { [[ -f $STATE_DB && $(lease) != "|"* && -n $(lease) ]]; }
one_scheduler() { [[ $(sched_nodes | wc -l) == 1 ]]; }
wait_until 90 "the scheduler task to run" one_scheduler
wait_until 60 "the scheduler to hold the lease" lease_held
first=$(sched_nodes)
echo "scheduler on $first; lease: $(lease)"

ti() { sqlite "SELECT $3 FROM task_instances WHERE run_id = '$1' AND task_id = '$2'"; }
run_state() { sqlite "SELECT state FROM dag_runs WHERE run_id = '$1'"; }
# one_try_each RUN: every task instance of RUN succeeded with exactly one try.
one_try_each() {
	assert_eq success "$(run_state "$1")" "state of run $1"
	assert_eq "1 1 2" "$(sqlite "SELECT min(try_number), max(try_number), count(*) FROM task_instances WHERE run_id = '$1'" | tr '|' ' ')" \
		"try numbers (min max count) of $1"
	assert_eq 2 "$(sqlite "SELECT count(*) FROM task_tries t JOIN task_instances i ON i.id = t.ti_pk WHERE i.run_id = '$1'")" \
		"tries recorded for $1"
}

step "A: a run whose task long sleeps 45 s"
sf_run dags trigger failover --run-id a1 --conf '{"sleep": 45}'
assert_eq 0 "$RC" "exit code of dags trigger"
long_running() { [[ $(ti "$1" long state) == running ]]; }
wait_until 60 "long of a1 to run" long_running a1
svc_a1=$(ti a1 long service_id)
token_a=$(lease_token)
echo "long runs as service $svc_a1; lease token $token_a"

victim=${first#sfc-}
step "A: crash $victim (the scheduler's node)"
t_crash=$(now_ms)
"$CLUSTER" crash "$victim"
sf_run dags trigger failover --run-id a2 --conf '{"sleep": 1}'
assert_eq 0 "$RC" "exit code of dags trigger during the outage"
moved() { [[ -n $(sched_nodes) && $(sched_nodes) != "$first" ]]; }
wait_until 120 "Swarm to start the scheduler on the other manager" moved
t_moved=$(now_ms)
second=$(sched_nodes)
taken() { [[ $(lease_token) -gt $token_a ]]; }
wait_until 60 "the new scheduler to take the lease" taken
t_taken=$(now_ms)
echo "scheduler now on $second; lease: $(lease)"
finished() { [[ $(run_state "$1") =~ ^(success|failed)$ ]]; }
wait_until 120 "run a1 to finish" finished a1
wait_until 60 "run a2 to finish" finished a2
t_done=$(now_ms)
one_try_each a1
one_try_each a2
assert_eq "$svc_a1" "$(ti a1 long service_id)" "long's service (adopted, not created again)"
# The store records the log's path inside the container; the same file is in the shared folder.
assert_contains "$(cat "$SWARMFLOW_STATE_DIR/logs/failover/a1/long/1.log")" "long-done" \
	"log of long (fetched by the new scheduler)"
ms() { printf '%d.%d s' $(($1 / 1000)) $(($1 % 1000 / 100)); }
echo "MEASURED: scheduler node crash -> Swarm shows it running on the other manager $(ms $((t_moved - t_crash))); -> lease taken over $(ms $((t_taken - t_crash))) (lease_timeout ${LEASE_S} s)"
echo "MEASURED: a1 adopted, finished $(ms $((t_done - t_crash))) after the crash; a2 (triggered during the outage) succeeded"

step "A: $victim comes back"
"$CLUSTER" start "$victim"
node_ready() { [[ $(node_state "$victim") == ready ]]; }
wait_until 90 "$victim ready again" node_ready

step "B: two replicas, one per manager: one active, one standby"
docker service update --detach --replicas 2 --replicas-max-per-node 1 "$SVC" >/dev/null
two_schedulers() { [[ $(sched_nodes | wc -l) == 2 ]]; }
wait_until 90 "two scheduler tasks to run" two_schedulers
# container_of NODE: the running scheduler container on NODE (m2 or m3).
container_of() {
	docker -H "unix:///run/sfc/$1.sock" ps -q --no-trunc --filter "label=com.docker.swarm.service.name=$SVC" \
		--filter status=running | head -n 1
}
logs_of() { docker -H "unix:///run/sfc/$1.sock" logs "$(container_of "$1")" 2>&1; }
says_standby() { logs_of "$1" | grep -q 'standby: the scheduler lease is held by'; }
# The holder: the node whose container's log says it holds the current token.
token_b=$(lease_token)
holder_node() {
	local n
	for n in m2 m3; do
		logs_of "$n" | grep -qE "lease: taken( over)? \\(token $(lease_token)\\)" && echo "$n"
	done
	return 0
}
# find_holder: sets holder when exactly one node's log claims the current token (the logs are
# read again at each try: a read can come back empty while a container starts).
holder=
find_holder() {
	holder=$(holder_node)
	[[ $holder == m[23] ]]
}
wait_until 30 "the lease holder to be found" find_holder
other=m2
[[ $holder == m2 ]] && other=m3
wait_until 30 "the scheduler on $other to be a standby" says_standby "$other"
assert_eq "$token_b" "$(lease_token)" "the lease token while both run (no takeover)"
echo "holder on $holder, standby on $other"

sf_run dags trigger failover --run-id b1 --conf '{"sleep": 30}'
assert_eq 0 "$RC" "exit code of dags trigger"
wait_until 60 "long of b1 to run" long_running b1
svc_b1=$(ti b1 long service_id)

step "B: kill the holder's dockerd ($holder); its container keeps running without an engine"
holder_cid=$(container_of "$holder")
t_kill=$(now_ms)
"$CLUSTER" kill "$holder"
taken_b() { [[ $(lease_token) -gt $token_b ]]; }
wait_until 60 "the standby to take the lease over" taken_b
t_taken=$(now_ms)
wait_until 90 "run b1 to finish" finished b1
one_try_each b1
assert_eq "$svc_b1" "$(ti b1 long service_id)" "long's service (adopted, not created again)"
assert_contains "$(logs_of "$other")" "lease: taken" "the standby's log"
# Its engine is dead, so its log is lost; its process is watched instead (containerd's task dir).
init_pid=$(cat "/run/sfc/$holder/containerd/daemon/io.containerd.runtime.v2.task/moby/$holder_cid/init.pid" 2>/dev/null || true)
[[ -n $init_pid ]] || fail "no init.pid of the old holder's container $holder_cid"
old_gone() { ! kill -0 "$init_pid" 2>/dev/null; }
wait_until 30 "the old holder (pid $init_pid on the host) to stop" old_gone
echo "MEASURED: holder's dockerd killed -> standby took the lease $(ms $((t_taken - t_kill))) later (lease_timeout ${LEASE_S} s)"
echo "ok"
