#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 20_node_loss: a worker's dockerd is SIGKILLed while a try runs on it (node_lost_timeout 15s,
# retries 1). The manager marks the node down but keeps showing the task running; the scheduler
# fails the try "node lost: sfc-w1 (<id>) down for ..." once the node has been down for 15 s,
# removes its service, and the retry runs on the other worker; the run succeeds. Measured and
# printed: the time from the kill to the node turning down, and to the try failing. Shown too:
# the old container still runs on the dead node's host (at-least-once), and is stopped when that
# node's engine starts again.
# w2 is drained while the first try is placed, so that it lands on w1 (constraint
# node.role==worker); w2 is made active again right after the kill, for the retry.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
# shellcheck source=../lib/cluster.sh
. "$E2E_REPO/tests/lib/cluster.sh"

TIMEOUT_S=15
export SWARMFLOW_NODE_LOST_TIMEOUT=${TIMEOUT_S}s

write_dag nodeloss <<EOF_DAG
dag nodeloss {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image    = "$IMAGE"
    hostname = "{{.Node.Hostname}}"
  }
  task victim {
    constraints = {"node.role==worker"}
    retries     = 1
    retry_delay = "1s"
    shell       = "echo try {{ try_number }} on \$(hostname); if [ {{ try_number }} = 1 ]; then sleep 300; fi; echo try {{ try_number }} done"
  }
  task after {
    upstream = {victim}
    shell    = "echo after on \$(hostname)"
  }
}
EOF_DAG

w1=$(node_id w1)
w2=$(node_id w2)
restore() { docker node update --availability active "sfc-w2" >/dev/null 2>&1 || true; }
trap 'rc=$?; restore; (exit $rc); e2e_cleanup' EXIT

step "w2 drained: the first try can only land on w1"
docker node update --availability drain sfc-w2 >/dev/null
sampler_start
bg scheduler
sched_log=$BG_LOG
sf_run dags trigger nodeloss --run-id loss-1
assert_eq 0 "$RC" "exit code of dags trigger"

victim_state() { sqlite "SELECT state FROM task_instances WHERE run_id = 'loss-1' AND task_id = 'victim'"; }
victim_running() { [[ $(victim_state) == running ]]; }
wait_until 60 "victim running" victim_running
sampled_try1() { [[ -n $(sampled_node victim 1) ]]; }
wait_until 10 "the engine's task of try 1 (sampled)" sampled_try1
assert_eq "$w1" "$(sampled_node victim 1)" "the node of victim's first try (engine)"
svc1=$(sqlite "SELECT service_id FROM task_instances WHERE run_id = 'loss-1' AND task_id = 'victim'")
echo "try 1 runs on sfc-w1 ($w1), service $svc1"

step "kill w1's dockerd"
t_kill=$(now_ms)
"$CLUSTER" kill w1
restore
states=() last=
until [[ $(node_state w1) == down ]]; do
	s=$(node_state w1)
	[[ $last == "$s" ]] || states+=("$s")
	last=$s
	(($(now_ms) - t_kill < 60000)) || fail "w1 is not down 60 s after the kill (states: ${states[*]})"
	sleep 0.1
done
t_down=$(now_ms)
states+=(down)
echo "w1 states after the kill: ${states[*]}"
echo "the engine shows the try's task as: $(api "/tasks?filters=%7B%22service%22%3A%5B%22$svc1%22%5D%7D" | jq -r '.[0].Status.State')"

step "the try fails 'node lost' once w1 has been down ${TIMEOUT_S}s"
try1_error() {
	sqlite "SELECT coalesce(t.error, '') FROM task_tries t JOIN task_instances i ON i.id = t.ti_pk
		WHERE i.run_id = 'loss-1' AND i.task_id = 'victim' AND t.try_number = 1 AND t.state <> 'running'"
}
try1_failed() { [[ -n $(try1_error) ]]; }
wait_until $((TIMEOUT_S + 60)) "try 1 of victim failed" try1_failed
t_fail=$(now_ms)
err=$(try1_error)
echo "try 1: $err"
assert_match "$err" "^node lost: sfc-w1 \\($w1\\) down for [0-9]+s$" "error of try 1"
down_s=$(((t_down - t_kill) / 100))
fail_s=$(((t_fail - t_kill) / 100))
gap_ms=$((t_fail - t_down))
printf 'MEASURED: kill -> node down %d.%ds; kill -> try failed %d.%ds (node_lost_timeout %ds; down -> failed %d ms)\n' \
	$((down_s / 10)) $((down_s % 10)) $((fail_s / 10)) $((fail_s % 10)) "$TIMEOUT_S" "$gap_ms"
((gap_ms >= TIMEOUT_S * 1000 - 1000)) || fail "try 1 failed ${gap_ms} ms after w1 turned down, before node_lost_timeout"
((gap_ms <= TIMEOUT_S * 1000 + 5000)) || fail "try 1 failed ${gap_ms} ms after w1 turned down, > node_lost_timeout + 5 s"
assert_contains "$(cat "$sched_log")" "node sfc-w1 ($w1) is down" "scheduler log"
! service_exists "$svc1" || fail "the service $svc1 of the lost try still exists"

step "the retry runs on w2 and the run succeeds"
run_done() { [[ $(runs_json nodeloss | jq -r '.[0].state') =~ ^(success|failed)$ ]]; }
wait_until 90 "run loss-1 finished" run_done
sampler_stop
tasks=$(tasks_json nodeloss loss-1)
jq -c '.[] | {task_id, state, try_number, error}' <<<"$tasks"
assert_eq success "$(runs_json nodeloss | jq -r '.[0].state')" "state of run loss-1"
assert_eq success "$(task_field "$tasks" victim state)" "state of victim"
assert_eq 2 "$(task_field "$tasks" victim try_number)" "try_number of victim"
assert_eq "$w2" "$(sampled_node victim 2)" "the node of victim's second try (engine)"
assert_eq "$w1" "$(store_try_node victim 1 loss-1)" "task_tries.node_id of try 1"
assert_eq "$w2" "$(store_try_node victim 2 loss-1)" "task_tries.node_id of try 2"
assert_eq "$w2" "$(store_ti_node victim loss-1)" "task_instances.node_id of victim"
sf_run tasks logs nodeloss loss-1 victim --try 1
assert_contains "$OUT" "[swarmflow] logs not fetched: they stay on the lost node" "log of try 1"
assert_contains "$OUT" "[swarmflow] try 1 failed: node lost: sfc-w1" "log of try 1"
sf_run tasks logs nodeloss loss-1 victim --try 2
assert_contains "$OUT" "try 2 on sfc-w2" "log of try 2"
assert_contains "$OUT" "try 2 done" "log of try 2"
assert_eq success "$(task_field "$tasks" after state)" "state of after"

step "at-least-once: the first try's container still runs on w1's host"
old=()
for d in /run/sfc/w1/containerd/daemon/io.containerd.runtime.v2.task/moby/*/; do
	[[ -f $d/init.pid ]] || continue
	pid=$(<"$d/init.pid")
	if kill -0 "$pid" 2>/dev/null; then
		old+=("$pid")
		echo "still running on w1: pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
	fi
done
((${#old[@]} == 1)) || fail "expected the first try's container to run on w1 still, found ${#old[@]}"

step "w1's engine starts again: it stops the stale container and the node is ready"
t_start=$(now_ms)
"$CLUSTER" start w1
node_ready() { [[ $(node_state w1) == ready ]]; }
wait_until 60 "w1 ready again" node_ready
echo "MEASURED: w1 ready $((($(now_ms) - t_start) / 1000))s after its engine was started again"
container_gone() { ! kill -0 "${old[0]}" 2>/dev/null; }
wait_until 30 "the stale container stopped" container_gone
