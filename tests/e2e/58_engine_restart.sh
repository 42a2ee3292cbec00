#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 58_engine_restart: dockerd is stopped and started again in the middle of a run. The scheduler
# keeps running through the outage (engine errors are logged, health says why, no try is failed
# for a connection error), the try whose container the restart killed fails with the engine's
# reason and is retried, the tasks not yet dispatched run once the engine is back, and the run
# succeeds with nothing left behind.
# It restarts the one engine of this machine: other work on the engine is disturbed meanwhile.
# The outage is shorter than lease_timeout (120 s here): a longer one makes the scheduler hand
# its lease over and stop (82_lease and the multi-node failover case test that).
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
# shellcheck source=../lib/engine.sh
. "$E2E_REPO/tests/lib/engine.sh"
export SWARMFLOW_LEASE_TIMEOUT=120s

write_dag outage <<EOF_DAG
dag outage {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image       = "$IMAGE"
    retries     = 3
    retry_delay = "1s"
  }
  task long {
    shell = "echo try {{ try_number }}; trap 'exit 143' TERM; sleep 6 & wait; echo long-done"
  }
  task after {
    upstream = {long}
    shell    = "echo after-ok"
  }
}
EOF_DAG

step "start the scheduler and the run"
bg scheduler
sched_pid=$BG_PID
log=$BG_LOG
sf_run dags trigger outage --run-id outage-1
assert_eq 0 "$RC" "exit code of dags trigger"
long_state() { sqlite "SELECT state FROM task_instances WHERE run_id = 'outage-1' AND task_id = 'long'"; }
long_running() { [[ $(long_state) == running ]]; }
wait_until 60 "task long to run" long_running

step "stop dockerd while long runs"
dockerd_pid=$(engine_pid) || fail "no dockerd of /var/run/docker.pid to stop"
kill -TERM "$dockerd_pid"
dockerd_gone() { ! kill -0 "$dockerd_pid" 2>/dev/null; }
wait_until 60 "dockerd to exit" dockerd_gone
engine_down_logged() { grep -qE 'engine.*(Couldn.t connect|connect|refused|No such file)' "$log"; }
wait_until 20 "the scheduler to log the engine's absence" engine_down_logged
kill -0 "$sched_pid" 2>/dev/null || fail "the scheduler died when the engine went away"
says_down() {
	local out
	out=$("$SWARMFLOW_BIN" health 2>&1) || true
	[[ $out == *"engine"* && $out != *"engine ok"* ]]
}
# The heartbeat is written every few seconds: it must say what is wrong with the engine.
wait_until 20 "health to report the engine trouble" says_down
assert_ne failed "$(long_state)" "long must not fail for a lost connection"

step "start dockerd again"
ensure_engine || fail "dockerd did not come back"

step "the run completes"
run_state() { sqlite "SELECT state FROM dag_runs WHERE run_id = 'outage-1'"; }
run_over() { [[ $(run_state) == success || $(run_state) == failed ]]; }
wait_until 180 "run outage-1 to finish" run_over
assert_eq success "$(run_state)" "state of the run"
kill -0 "$sched_pid" 2>/dev/null || fail "the scheduler exited"
tasks=$(tasks_json outage outage-1)
jq . <<<"$tasks"
tries=$(task_field "$tasks" long try_number)
printf 'long needed %s tries\n' "$tries"
sf_run tasks logs outage outage-1 long
assert_contains "$OUT" "long-done" "log of the last try of long"
sf_run tasks logs outage outage-1 after
assert_contains "$OUT" "after-ok" "log of after"
# Every try of long that did not succeed says why (the restart's engine error, never a bare
# connection error taken for the task's outcome).
if ((tries > 1)); then
	errors=$(sqlite "SELECT t.error FROM task_tries t JOIN task_instances i ON i.id = t.ti_pk
		WHERE i.run_id = 'outage-1' AND i.task_id = 'long' AND t.state != 'success'")
	printf 'errors of the failed tries: %s\n' "$errors"
	[[ -n $errors ]] || fail "a failed try of long has no error"
	# The engine reports ExitCode 0 for the container the restart took away: no exit code.
	codes=$(sqlite "SELECT count(*) FROM task_tries t JOIN task_instances i ON i.id = t.ti_pk
		WHERE i.run_id = 'outage-1' AND i.task_id = 'long' AND t.state != 'success'
		AND t.exit_code = 0")
	assert_eq 0 "$codes" "failed tries of long recorded with exit code 0"
fi
no_services() { [[ -z $(our_services) ]]; }
wait_until 60 "every service of the run to be removed" no_services
