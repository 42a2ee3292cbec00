#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 80_trigger_scheduler: the scheduler daemon runs a triggered run (with conf); `dags trigger
# --wait` exits 0; a second scheduler on the same state_dir is a standby that waits for the
# lease (names the holder, dispatches nothing, writes no heartbeat) and exits 0 on SIGTERM;
# SIGTERM makes the scheduler exit 0 within 5 s and release the lease.
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
sched_log=$BG_LOG
sleep 1
kill -0 "$sched_pid" 2>/dev/null || fail "the scheduler exited at once: $(cat "$sched_log")"

step "health while it runs"
is_healthy() { "$SWARMFLOW_BIN" health >/dev/null 2>&1; }
wait_until 10 "swarmflow health to say healthy" is_healthy
sf_run health
assert_eq 0 "$RC" "health with the scheduler running"
assert_contains "$OUT" "healthy: scheduler pid $sched_pid" "health names the scheduler"

step "a second scheduler on the same state_dir is a standby and names the holder"
# With a web server asked for (any port): a standby must not start it.
SWARMFLOW_WEB_LISTEN=127.0.0.1:0 bg scheduler
standby_pid=$BG_PID
standby_log=$BG_LOG
# heartbeat.json is sampled all along: a standby must neither write nor clear it.
hb_pids=()
sample_heartbeat() { hb_pids+=("$(jq -r .pid "$SWARMFLOW_STATE_DIR/heartbeat.json" 2>/dev/null || echo missing)"); }
is_standby() {
	sample_heartbeat
	grep -q "standby: the scheduler lease is held by scheduler pid $sched_pid " "$standby_log"
}
wait_until 20 "the second scheduler to say it is a standby" is_standby
grep -F "standby:" "$standby_log"
kill -0 "$standby_pid" 2>/dev/null || fail "the second scheduler exited: $(cat "$standby_log")"
kill -0 "$sched_pid" 2>/dev/null || fail "the first scheduler died: $(cat "$sched_log")"
assert_eq "scheduler pid $sched_pid on $(hostname) (instance $SWARMFLOW_INSTANCE)" \
	"$(sqlite 'SELECT holder FROM scheduler_lease WHERE id = 1')" "lease holder"

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

step "the standby did nothing meanwhile: no dispatch, no heartbeat, no web server"
for _ in 1 2 3 4 5 6 7 8 9 10; do
	sample_heartbeat
	sleep 0.2
done
printf 'heartbeat.json pid, sampled %d times: %s\n' "${#hb_pids[@]}" "$(printf '%s\n' "${hb_pids[@]}" | sort | uniq -c | xargs)"
for pid in "${hb_pids[@]}"; do
	assert_eq "$sched_pid" "$pid" "pid in heartbeat.json (the active scheduler's, never the standby's)"
done
standby_text=$(cat "$standby_log")
printf -- '-- standby log:\n%s\n--\n' "$standby_text"
for what in "task " "run " "adopted" "dags reloaded" "web: " "lease: taken"; do
	if grep -E "^[^ ]+ [a-z]+ $what" <<<"$standby_text"; then
		fail "the standby logged '$what'"
	fi
done
listening=$(ss -Hltnp 2>/dev/null | grep -F "pid=$standby_pid," || true)
assert_eq "" "$listening" "sockets the standby listens on"
assert_match "$(sqlite 'SELECT holder FROM scheduler_lease WHERE id = 1')" \
	"^scheduler pid $sched_pid " "lease holder after the run"
sf_run health
assert_eq 0 "$RC" "health with a standby beside the scheduler"
assert_contains "$OUT" "healthy: scheduler pid $sched_pid" "health names the active scheduler"

step "SIGTERM the standby: it exits 0 and the first one keeps the lease"
kill -TERM "$standby_pid"
standby_gone() { ! kill -0 "$standby_pid" 2>/dev/null; }
wait_until 5 "the standby to exit after SIGTERM" standby_gone
rc=0
wait "$standby_pid" || rc=$?
assert_eq 0 "$rc" "exit code of the standby after SIGTERM"
assert_contains "$(cat "$standby_log")" "signal SIGTERM while standby: stopping" "standby log"
assert_not_contains "$(cat "$standby_log")" "lease: released" "standby log"
kill -0 "$sched_pid" 2>/dev/null || fail "the first scheduler died: $(cat "$sched_log")"
assert_match "$(sqlite 'SELECT holder FROM scheduler_lease WHERE id = 1')" \
	"^scheduler pid $sched_pid " "lease holder after the standby stopped"

step "SIGTERM the scheduler"
kill -TERM "$sched_pid"
gone() { ! kill -0 "$sched_pid" 2>/dev/null; }
wait_until 5 "the scheduler to exit after SIGTERM" gone
rc=0
wait "$sched_pid" || rc=$?
assert_eq 0 "$rc" "exit code of the scheduler after SIGTERM"
assert_contains "$(cat "$sched_log")" "lease: released" "log of the scheduler"
assert_eq "" "$(sqlite 'SELECT holder FROM scheduler_lease WHERE id = 1')" "lease holder after the stop"
