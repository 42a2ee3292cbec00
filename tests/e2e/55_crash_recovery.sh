#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 55_crash_recovery: the scheduler is killed with SIGKILL six times at random moments during a
# run of 24 tasks and a mapped task of 24 instances (expanded from an upstream's output, their
# outputs gathered by a last task), and started again each time. Afterwards every task
# succeeded, each container ran exactly once (every container appends a line to a bind-mounted
# file), the mapped task was expanded once, every output is stored, and no service of the
# instance is left. Each restarted scheduler first waits for the lease of the
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
	echo "  task fan {"
	echo "    shell  = \"for i in $(seq -s ' ' 0 23); do echo ::output:: \$i; done\""
	echo "    output = \"marked\""
	echo "  }"
	echo "  task each {"
	echo "    upstream = {fan}"
	echo "    expand   = \"{{ upstream.fan.output }}\""
	echo "    shell    = \"echo each-{{ item }} try={{ try_number }} >> /ran; sleep 1; echo {{ map_index }}\""
	echo "    output   = \"last_line\""
	echo "  }"
	echo "  task gather {"
	echo "    upstream = {each}"
	echo "    command  = {\"echo\", \"{{ upstream.each.outputs_json }}\"}"
	echo "    output   = \"last_line\""
	echo "  }"
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
assert_eq 50 "$(jq '[.[] | select(.state == "success")] | length' <<<"$tasks")" \
	"task instances in success (24, fan, 24 of each, gather)"
assert_eq 50 "$(jq '[.[] | select(.try_number == 1)] | length' <<<"$tasks")" "task instances on try 1"
assert_eq "$(seq -s ' ' 0 23)" "$(jq -r '[.[] | select(.task_id == "each") | .map_index] | join(" ")' <<<"$tasks")" \
	"each was expanded once: map indexes 0..23, no more"
assert_eq "[$(seq -s , 0 23)]" "$(task_field "$tasks" gather output)" "gather read all 24 outputs, in map order"
assert_eq 24 "$(sqlite "SELECT count(*) FROM task_tries t JOIN task_instances i ON i.id = t.ti_pk
	WHERE i.run_id = 'crash1' AND i.task_id = 'each' AND t.output = CAST(i.map_index AS TEXT)")" \
	"every output of each stored with its try"
# crash1's lines only (the probe run appends its own 48): each container exactly once.
lines=$(grep -c . "$ran")
assert_eq 96 "$lines" "container runs recorded (48 for crash1 + 48 for the probe run)"
dups=$(sort "$ran" | uniq -c | awk '$1 != 2 {print}')
assert_eq "" "$dups" "task lines not seen exactly once per run (two runs)"
assert_eq "" "$(our_services)" "services of the instance left"
grep -c "adopted try\|dispatching again" "$E2E_WORK/scheduler.log" || true
echo "ok"
