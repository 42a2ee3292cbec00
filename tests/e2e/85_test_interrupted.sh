#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 85_test_interrupted: SIGINT to a foreground `dags test` removes its running service, fails the
# running and waiting tasks with the reason, fails the run, and exits 1 within seconds.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

write_dag longrun <<EOF_DAG
dag longrun {
  task sleeper {
    image = "$IMAGE"
    shell = "echo started; sleep 300"
  }
  task after {
    image    = "$IMAGE"
    upstream = {sleeper}
    shell    = "echo never"
  }
}
EOF_DAG

step "dags test longrun in the background"
bg dags test longrun
test_pid=$BG_PID
sleeper_running() {
	local run
	run=$(latest_run_id longrun 2>/dev/null) || return 1
	[[ -n $run && $(task_field "$(tasks_json longrun "$run")" sleeper state) == running ]]
}
wait_until 60 "sleeper running" sleeper_running
assert_ne "" "$(our_services)" "the sleeper's service while it runs"

step "SIGINT"
t0=$(date +%s)
kill -INT "$test_pid"
rc=0
wait "$test_pid" || rc=$?
secs=$(($(date +%s) - t0))
cat "$BG_LOG"
assert_eq 1 "$rc" "exit code of the interrupted dags test"
((secs <= 10)) || fail "dags test took ${secs}s to stop after SIGINT"

step "nothing left running, everything failed with the reason"
assert_eq "" "$(our_services)" "services of the instance after SIGINT"
run=$(latest_run_id longrun)
assert_eq failed "$(runs_json longrun | jq -r '.[0].state')" "run state"
tasks=$(tasks_json longrun "$run")
assert_eq failed "$(task_field "$tasks" sleeper state)" "sleeper state"
assert_eq failed "$(task_field "$tasks" after state)" "after state"
assert_contains "$(task_field "$tasks" sleeper error)" "interrupted" "sleeper error"
assert_contains "$(sf tasks logs longrun "$run" sleeper)" "started" "the sleeper's log was kept"
echo "ok"
