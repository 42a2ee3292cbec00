#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 30_partition: w1 is cut off the network (its engine and the container keep running) while a
# try runs on it. The scheduler fails the try "node lost" after node_lost_timeout and the retry
# runs on w2: the run succeeds. Both tries write to one bind-mounted file, which shows the
# at-least-once case docs/cluster.md documents: the first try goes on writing while the retry runs
# (nothing can reach it); once the partition heals, w1 learns that the task is to stop and stops
# it (measured: within a second; the task traps SIGTERM, so its stop is immediate).
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
# shellcheck source=../lib/cluster.sh
. "$E2E_REPO/tests/lib/cluster.sh"

TIMEOUT_S=10
export SWARMFLOW_NODE_LOST_TIMEOUT=${TIMEOUT_S}s
export SWARMFLOW_POLICY_BIND_MOUNT_PREFIXES="$E2E_WORK"
out="$E2E_WORK/out"
mkdir -p "$out"
: >"$out/log"
chmod 0777 "$out"
chmod 0666 "$out/log"

write_dag partition <<EOF_DAG
dag partition {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image    = "$IMAGE"
    hostname = "{{.Node.Hostname}}"
  }
  task work {
    constraints = {"node.role==worker"}
    mounts      = {"type=bind,source=$out,target=/out"}
    retries     = 1
    retry_delay = "1s"
    shell       = "n={{ try_number }}; trap 'echo try \$n stopped >> /out/log; exit 143' TERM; echo \"try \$n start on \$(hostname)\" >> /out/log; i=0; while [ \$i -lt \$((n == 1 ? 600 : 3)) ]; do i=\$((i + 1)); echo \"try \$n tick \$i\" >> /out/log; sleep 0.5; done; echo \"try \$n end\" >> /out/log"
  }
}
EOF_DAG

w1=$(node_id w1)
w2=$(node_id w2)
restore() {
	"$CLUSTER" heal w1 >/dev/null 2>&1 || true
	docker node update --availability active sfc-w2 >/dev/null 2>&1 || true
}
trap 'rc=$?; restore; (exit $rc); e2e_cleanup' EXIT

step "w2 drained: the first try lands on w1"
docker node update --availability drain sfc-w2 >/dev/null
bg scheduler
sf_run dags trigger partition --run-id part-1
assert_eq 0 "$RC" "exit code of dags trigger"
try1_started() { grep -q "try 1 start on sfc-w1" "$out/log"; }
wait_until 60 "try 1 writing from w1" try1_started

step "cut w1 off the network"
t_cut=$(now_ms)
"$CLUSTER" partition w1
docker node update --availability active sfc-w2 >/dev/null
is_down() { [[ $(node_state w1) == down ]]; }
wait_until 60 "w1 down" is_down
t_down=$(now_ms)
try1_error() {
	sqlite "SELECT coalesce(t.error, '') FROM task_tries t JOIN task_instances i ON i.id = t.ti_pk
		WHERE i.run_id = 'part-1' AND t.try_number = 1 AND t.state <> 'running'"
}
try1_failed() { [[ -n $(try1_error) ]]; }
wait_until $((TIMEOUT_S + 60)) "try 1 failed" try1_failed
t_fail=$(now_ms)
finished() { [[ $(runs_json partition | jq -r '.[0].state') =~ ^(success|failed)$ ]]; }
wait_until 60 "run part-1 finished" finished
t_end=$(now_ms)
echo "MEASURED: partition -> node down $(((t_down - t_cut) / 1000))s; -> try failed $(((t_fail - t_cut) / 1000))s; -> run finished $(((t_end - t_cut) / 1000))s (node_lost_timeout ${TIMEOUT_S}s)"
# The logs of a lost node are not asked for: the manager would hold that request (30 s).
((t_fail - t_down <= TIMEOUT_S * 1000 + 5000)) ||
	fail "try 1 failed $((t_fail - t_down)) ms after w1 turned down, > node_lost_timeout + 5 s"

tasks=$(tasks_json partition part-1)
jq -c '.[] | {task_id, state, try_number, error}' <<<"$tasks"
assert_eq success "$(runs_json partition | jq -r '.[0].state')" "state of run part-1"
assert_eq 2 "$(task_field "$tasks" work try_number)" "try_number of work"
err=$(try1_error)
assert_match "$err" "^node lost: sfc-w1 \\($w1\\) down for [0-9]+s$" "error of try 1"
assert_eq "$w2" "$(store_try_node work 2 part-1)" "node of try 2"
grep -q "try 2 start on sfc-w2" "$out/log" || fail "try 2 did not run on w2: $(cat "$out/log")"
grep -q "try 2 end" "$out/log" || fail "try 2 did not end: $(cat "$out/log")"

step "at-least-once: try 1 was still running on w1 during and after the retry"
ticks_at_end=$(grep -c "try 1 tick" "$out/log")
sleep 2
ticks_later=$(grep -c "try 1 tick" "$out/log")
echo "try 1 ticks: $ticks_at_end when the run ended, $ticks_later two seconds later"
((ticks_later > ticks_at_end)) || fail "try 1 no longer ran on w1 while partitioned"
awk '/try 2 start/ {s = 1} s && /try 1 tick/ {n++} END {print "try 1 wrote", n + 0, "lines after try 2 started"}' "$out/log"

step "heal the partition"
"$CLUSTER" heal w1
is_ready() { [[ $(node_state w1) == ready ]]; }
wait_until 60 "w1 ready again" is_ready
t_ready=$(now_ms)
# The task stops at once on SIGTERM (its trap writes "try 1 stopped"): 15 s tell.
try1_stopped() { grep -q "try 1 stopped" "$out/log"; }
for ((i = 0; i < 30; i++)); do
	try1_stopped && break
	sleep 0.5
done
try1_stopped || fail "try 1 still runs on w1 15 s after the partition healed: $(tail -n 3 "$out/log")"
echo "MEASURED: after the heal, w1 stopped the stale try 1 within $((($(now_ms) - t_ready) / 1000))s"
w1_empty() { [[ -z $(docker -H unix:///run/sfc/w1.sock ps -q) ]]; }
wait_until 15 "no container left on w1" w1_empty

# The cases after this one read w1's logs: the cluster is left as this case found it. When the
# managers still cannot read w1's logs, its engine is started again and the case waits until
# they can (it fails here, saying so, rather than a later case losing a log).
step "w1's logs can be read again"
t_heal=$(now_ms)
logs_back=false
for ((i = 0; i < 3; i++)); do
	node_logs_readable w1 && logs_back=true && break
done
if $logs_back; then
	echo "MEASURED: w1's logs readable $((($(now_ms) - t_heal) / 1000))s after the checks began"
else
	echo "MEASURED: w1's logs still 'not available' $((($(now_ms) - t_heal) / 1000))s after the checks began: its engine is started again"
	"$CLUSTER" kill w1
	"$CLUSTER" start w1
	wait_until 60 "w1 ready after its engine started again" is_ready
	wait_until 60 "w1's logs readable" node_logs_readable w1
fi
