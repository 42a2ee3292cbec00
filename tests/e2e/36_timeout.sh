#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 36_timeout: a task `sleep 300` with timeout = "3s" fails "timed out after 3s" about 3 s after it
# started; its service (and container) is gone while the run is still busy with another task;
# its log is kept; the run ends failed.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

write_dag slowpoke <<EOF_DAG
dag slowpoke {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image = "$IMAGE"
  }
  task slow {
    shell   = "echo slow started; sleep 300; echo never printed"
    timeout = "3s"
  }
  task other {
    shell = "sleep 30; echo other done"
  }
}
EOF_DAG

step "dags test slowpoke (in the background)"
bg dags test slowpoke --run-id timeout_run
test_pid=$BG_PID
# On any exit, before the usual checks: stop dags test, then remove the containers of this
# instance still running (engines before 24.0 leave them behind when their replicated-job service
# is removed, see below), so that a failing case leaves nothing running either.
case_cleanup() {
	if kill -0 "$test_pid" 2>/dev/null; then
		kill -TERM "$test_pid"
		wait "$test_pid"
	fi
	local left
	left=$(docker ps -q --filter "label=swarmflow.instance=$SWARMFLOW_INSTANCE")
	# shellcheck disable=SC2086 # one ID per word
	[[ -z $left ]] || docker rm -f $left >/dev/null
}
on_exit() {
	local rc=$?
	set +e
	case_cleanup
	(exit "$rc") # e2e_cleanup reads the case's exit status from $?
	e2e_cleanup
}
trap on_exit EXIT
slow_state() {
	local out
	out=$("$SWARMFLOW_BIN" tasks list slowpoke timeout_run --json 2>/dev/null) || return 1
	jq -r '.[] | select(.task_id == "slow") | .state' <<<"$out"
}
slow_failed() { [[ $(slow_state) == failed ]]; }
wait_until 90 "slow to fail" slow_failed

step "slow timed out about 3 s after it started"
tasks=$(tasks_json slowpoke timeout_run)
jq . <<<"$tasks"
assert_eq "timed out after 3s" "$(task_field "$tasks" slow error)" "error of slow"
assert_eq null "$(task_field "$tasks" slow exit_code)" "exit_code of slow"
assert_eq 1 "$(task_field "$tasks" slow try_number)" "try_number of slow"
ran_ms=$((($(ts_ns "$(task_field "$tasks" slow end_date)") - $(ts_ns "$(task_field "$tasks" slow start_date)")) / 1000000))
printf 'slow ran %d ms\n' "$ran_ms"
((ran_ms >= 3000)) || fail "slow was stopped after $ran_ms ms, before its 3 s timeout"
((ran_ms <= 10000)) || fail "slow was stopped only after $ran_ms ms (timeout 3 s)"

step "its service is gone while other still runs"
other_state=$(task_field "$tasks" other state)
[[ $other_state == queued || $other_state == running ]] ||
	fail "other is $other_state already: the check below would prove nothing"
slow_service=$(task_field "$tasks" slow service_name)
! service_exists "$slow_service" || fail "the timed-out service $slow_service still exists"
left=$(docker service ls --filter "label=swarmflow.instance=$SWARMFLOW_INSTANCE" --format '{{.Name}}')
printf 'services of the instance now: %s\n' "$left"
assert_not_contains "$left" "$slow_service" "services of the instance"
assert_eq 1 "$(grep -c . <<<"$left" || true)" "services of the instance while other runs"
assert_contains "$left" "_slowpoke_other_" "services of the instance"
# Removing the service must stop its container too (after the 10 s stop grace period: `sh` as
# PID 1 ignores SIGTERM). Engines before 24.0 leave a replicated-job's task running when its
# service is removed (moby/moby#44312): the try would go on unseen, so that fails the case.
slow_container() { docker ps -q --filter "label=com.docker.swarm.service.name=$slow_service"; }
for ((waited = 0; waited < 25; waited++)); do
	[[ -z $(slow_container) ]] && break
	sleep 1
done
if [[ -n $(slow_container) ]]; then
	fail "the container of the timed-out $slow_service still runs 25 s after its service was removed"
fi
printf 'the container of %s stopped within %d s\n' "$slow_service" "$waited"

step "its log is kept"
sf_run tasks logs slowpoke timeout_run slow
assert_eq 0 "$RC" "exit code of tasks logs"
assert_contains "$OUT" "slow started" "log of slow"
assert_contains "$OUT" "timed out after 3s" "log of slow"
assert_not_contains "$OUT" "never printed" "log of slow"
assert_file "$SWARMFLOW_STATE_DIR/logs/slowpoke/timeout_run/slow/1.log" "log file of slow"

step "the run ends failed, other succeeded"
rc=0
wait "$test_pid" || rc=$?
assert_eq 1 "$rc" "exit code of dags test slowpoke"
tasks=$(tasks_json slowpoke timeout_run)
assert_eq success "$(task_field "$tasks" other state)" "state of other"
assert_eq failed "$(runs_json slowpoke | jq -r '.[0].state')" "run state"
assert_eq "failed|timed out after 3s" \
	"$(sqlite "SELECT state, error FROM task_instances WHERE dag_id = 'slowpoke' AND task_id = 'slow'")" \
	"store row of slow"
