#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 80_trigger_scheduler: the scheduler daemon runs a triggered run (with conf); `dags trigger
# --wait` exits 0; SIGTERM makes the scheduler exit 0 within 5 s.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

write_dag triggered <<EOF_DAG
dag triggered {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image = "$IMAGE"
  }
  task first {
    shell = "echo greeting={{ conf.greeting }}"
  }
  task second {
    upstream = {first}
    shell    = "echo dag={{ dag_id }} run={{ run_id }}"
  }
}
EOF_DAG

step "health before any scheduler ran: unhealthy, and says why"
sf_run health
assert_eq 1 "$RC" "health with no scheduler"
assert_contains "$OUT" "the scheduler has not started there" "health message with no scheduler"

step "start the scheduler"
bg scheduler
sched_pid=$BG_PID
sleep 1
kill -0 "$sched_pid" 2>/dev/null || fail "the scheduler exited at once: $(cat "$BG_LOG")"

step "health while it runs"
is_healthy() { "$SWARMFLOW_BIN" health >/dev/null 2>&1; }
wait_until 10 "swarmflow health to say healthy" is_healthy
sf_run health
assert_eq 0 "$RC" "health with the scheduler running"
assert_contains "$OUT" "healthy: scheduler pid $sched_pid" "health names the scheduler"

step "a second scheduler on the same state_dir refuses and names the holder"
sf_run scheduler
assert_eq 1 "$RC" "exit code of a second scheduler"
assert_contains "$OUT" "another scheduler already drives" "second scheduler message"
assert_contains "$OUT" "scheduler pid $sched_pid" "the holder's pid"
kill -0 "$sched_pid" 2>/dev/null || fail "the first scheduler died: $(cat "$BG_LOG")"

step "dags trigger triggered --wait"
printf '$ swarmflow dags trigger triggered --conf ... --wait\n'
rc=0
timeout 120 "$SWARMFLOW_BIN" dags trigger triggered --conf '{"greeting": "hello-conf-5e1d"}' --wait || rc=$?
assert_eq 0 "$rc" "exit code of dags trigger --wait"

runs=$(runs_json triggered)
jq . <<<"$runs"
assert_eq 1 "$(jq length <<<"$runs")" "number of runs (schedule none: only the triggered one)"
assert_eq success "$(jq -r '.[0].state' <<<"$runs")" "run state"
assert_eq manual "$(jq -r '.[0].run_type' <<<"$runs")" "run_type"
assert_eq hello-conf-5e1d \
	"$(jq -r '.[0].conf | if type == "string" then fromjson else . end | .greeting' <<<"$runs")" "conf.greeting"
run_id=$(jq -r '.[0].run_id' <<<"$runs")

tasks=$(tasks_json triggered "$run_id")
assert_eq success "$(task_field "$tasks" first state)" "state of first"
assert_eq success "$(task_field "$tasks" second state)" "state of second"
sf_run tasks logs triggered "$run_id" first
assert_contains "$OUT" "greeting=hello-conf-5e1d" "log of first (conf template)"
sf_run tasks logs triggered "$run_id" second
assert_contains "$OUT" "dag=triggered run=$run_id" "log of second (dag_id and run_id templates)"

step "SIGTERM the scheduler"
kill -TERM "$sched_pid"
gone() { ! kill -0 "$sched_pid" 2>/dev/null; }
wait_until 5 "the scheduler to exit after SIGTERM" gone
rc=0
wait "$sched_pid" || rc=$?
assert_eq 0 "$rc" "exit code of the scheduler after SIGTERM"
