#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 55_crash_recovery: the scheduler is killed with SIGKILL six times at random moments during a
# run of 24 tasks and started again each time. Afterwards every task succeeded, each task's
# container ran exactly once (every container appends a line to a bind-mounted file), and no
# service of the instance is left. Each restarted scheduler first waits for the lease of the
# killed one to expire (lease_timeout, 1 s here); the next kill comes only once it holds the
# lease, so every kill hits a scheduler at work.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

export SWARMFLOW_POLICY_BIND_MOUNT_PREFIXES="$E2E_WORK"
export SWARMFLOW_POLL_INTERVAL=0.2
export SWARMFLOW_LEASE_TIMEOUT=1s
ran="$E2E_WORK/ran"
: >"$ran"
chmod 666 "$ran"

{
	echo "dag crashy {"
	echo "  max_active_tasks = 6"
	echo "  defaults {"
	echo "    image  = \"$IMAGE\""
	echo "    mounts = {\"type=bind,source=$ran,target=/ran\"}"
	echo "  }"
	for layer in 1 2 3 4; do
		for i in 1 2 3 4 5 6; do
			t="l${layer}_t$i"
			up=""
			[[ $layer -gt 1 ]] && up="upstream = {l$((layer - 1))_t$i}"
			echo "  task $t {"
			echo "    $up"
			echo "    shell = \"echo {{ task_id }} try={{ try_number }} >> /ran; sleep 1\""
			echo "  }"
		done
	done
	echo "}"
} >"$SWARMFLOW_DAGS_FOLDER/crashy.dag"
sf_run dags validate
assert_eq 0 "$RC" "dags validate"

start_scheduler() {
	"$SWARMFLOW_BIN" scheduler >>"$E2E_WORK/scheduler.log" 2>&1 &
	SCHED_PID=$!
	E2E_PIDS+=("$SCHED_PID")
}

step "trigger, then kill -9 the scheduler six times at random moments"
start_scheduler
sf_run dags trigger crashy --run-id crash1
assert_eq 0 "$RC" "dags trigger"
# active N: N schedulers so far have taken the lease (each logs it once).
active() { (($(grep -c 'lease: taken' "$E2E_WORK/scheduler.log") >= $1)); }
for kill_no in 1 2 3 4 5 6; do
	wait_until 30 "scheduler $kill_no to take the lease" active "$kill_no"
	sleep "$((RANDOM % 3)).$((RANDOM % 10))"
	kill -KILL "$SCHED_PID" 2>/dev/null || true
	wait "$SCHED_PID" 2>/dev/null || true
	printf 'kill %d: %d task lines so far\n' "$kill_no" "$(wc -l <"$ran")"
	start_scheduler
done

step "let the last scheduler finish the run"
rc=0
timeout 240 "$SWARMFLOW_BIN" dags trigger crashy --run-id crash-probe --wait >/dev/null 2>&1 || rc=$?
assert_eq 0 "$rc" "a second run after the crashes (the scheduler works)"
finished() { [[ $(runs_json crashy | jq -r '.[] | select(.run_id == "crash1") | .state') == success ]]; }
wait_until 240 "run crash1 to succeed" finished

step "every task succeeded on try 1, and each container ran exactly once"
tasks=$(tasks_json crashy crash1)
assert_eq 24 "$(jq '[.[] | select(.state == "success")] | length' <<<"$tasks")" "tasks in success"
assert_eq 24 "$(jq '[.[] | select(.try_number == 1)] | length' <<<"$tasks")" "tasks on try 1"
# crash1's lines only (the probe run appends its own 24): each task exactly once.
lines=$(grep -c . "$ran")
assert_eq 48 "$lines" "container runs recorded (24 for crash1 + 24 for the probe run)"
dups=$(sort "$ran" | uniq -c | awk '$1 != 2 {print}')
assert_eq "" "$dups" "task lines not seen exactly once per run (two runs)"
assert_eq "" "$(our_services)" "services of the instance left"
grep -c "adopted try\|dispatching again" "$E2E_WORK/scheduler.log" || true
echo "ok"
