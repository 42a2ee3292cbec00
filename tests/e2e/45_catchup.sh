#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 45_catchup: the scheduler daemon turns schedules into runs on the real swarm. An @hourly DAG
# whose start_date is 3 hours back with catchup = true gets exactly the 3 missed hours as
# scheduled runs (ids, data intervals, {{ ds }}), oldest first and one at a time
# (max_active_runs = 1), all succeeding; with catchup = false only the latest hour runs.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

# Near the end of an hour the next one could become due during the case: wait it out.
if (($(date -u +%s) % 3600 > 3540)); then
	step "waiting for the next hour to begin"
	sleep $((3600 - $(date -u +%s) % 3600 + 2))
fi
hour=$(($(date -u +%s) / 3600 * 3600))
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
airflow_ts() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S+00:00; }
start=$((hour - 3 * 3600))

for catchup in true false; do
	write_dag "hourly_$catchup" <<EOF_DAG
dag hourly_$catchup {
  schedule        = "@hourly"
  start_date      = "$(iso "$start")"
  catchup         = $catchup
  max_active_runs = 1
  defaults {
    image = "$IMAGE"
  }
  task report {
    shell = "echo ds={{ ds }} start={{ data_interval_start }} end={{ data_interval_end }} run={{ run_id }}"
  }
}
EOF_DAG
done

step "start the scheduler"
bg scheduler
sched_pid=$BG_PID

# runs_done DAG N: DAG has N runs, all finished.
runs_done() {
	local runs
	runs=$(runs_json "$1")
	[[ $(jq length <<<"$runs") == "$2" ]] &&
		[[ $(jq '[.[] | select(.state == "success" or .state == "failed")] | length' <<<"$runs") == "$2" ]]
}
wait_until 180 "3 finished runs of hourly_true" runs_done hourly_true 3
wait_until 60 "1 finished run of hourly_false" runs_done hourly_false 1
sleep 2 # time for a wrong extra run to appear

step "catchup = true: the 3 missed hours, oldest first, one at a time"
runs=$(runs_json hourly_true)
jq . <<<"$runs"
assert_eq 3 "$(jq length <<<"$runs")" "number of runs of hourly_true"
prev_end=0
for i in 0 1 2; do
	s=$((start + i * 3600))
	e=$((s + 3600))
	id="scheduled__$(iso "$s")"
	run=$(jq --arg id "$id" '.[] | select(.run_id == $id)' <<<"$runs")
	[[ -n $run ]] || fail "no run $id"
	assert_eq success "$(jq -r .state <<<"$run")" "state of $id"
	assert_eq scheduled "$(jq -r .run_type <<<"$run")" "run_type of $id"
	assert_eq "$(iso "$s")" "$(jq -r .logical_date <<<"$run")" "logical_date of $id"
	assert_eq "$s|$e" "$(sqlite "SELECT data_interval_start || '|' || data_interval_end FROM dag_runs WHERE dag_id = 'hourly_true' AND run_id = '$id'")" "data interval of $id"
	run_start=$(ts_ns "$(jq -r .start_date <<<"$run")")
	((run_start >= prev_end)) || fail "$id started before the run before it ended (max_active_runs = 1)"
	prev_end=$(ts_ns "$(jq -r .end_date <<<"$run")")
	sf_run tasks logs hourly_true "$id" report
	assert_eq 0 "$RC" "tasks logs of $id"
	assert_contains "$OUT" "ds=$(date -u -d "@$s" +%Y-%m-%d) start=$(airflow_ts "$s") end=$(airflow_ts "$e") run=$id" "log of $id"
done
order=$(sqlite "SELECT group_concat(logical_date, ',') FROM (SELECT logical_date FROM dag_runs WHERE dag_id = 'hourly_true' ORDER BY id)")
assert_eq "$start,$((start + 3600)),$((start + 7200))" "$order" "creation order (oldest first)"

step "catchup = false: only the latest complete hour"
runs=$(runs_json hourly_false)
jq . <<<"$runs"
assert_eq 1 "$(jq length <<<"$runs")" "number of runs of hourly_false"
id="scheduled__$(iso $((hour - 3600)))"
assert_eq "$id" "$(jq -r '.[0].run_id' <<<"$runs")" "run id of hourly_false"
assert_eq success "$(jq -r '.[0].state' <<<"$runs")" "state of $id"
assert_eq "$((hour - 3600))|$hour" "$(sqlite "SELECT data_interval_start || '|' || data_interval_end FROM dag_runs WHERE dag_id = 'hourly_false'")" "data interval of $id"

step "a restart creates nothing again"
kill -TERM "$sched_pid"
gone() { ! kill -0 "$sched_pid" 2>/dev/null; }
wait_until 10 "the scheduler to exit after SIGTERM" gone
rc=0
wait "$sched_pid" || rc=$?
assert_eq 0 "$rc" "exit code of the scheduler after SIGTERM"
bg scheduler
sched_pid=$BG_PID
sleep 3
kill -0 "$sched_pid" 2>/dev/null || fail "the restarted scheduler exited: $(cat "$BG_LOG")"
assert_eq 4 "$(sqlite "SELECT count(*) FROM dag_runs")" "runs after the restart"
kill -TERM "$sched_pid"
wait_until 10 "the scheduler to exit after SIGTERM" gone
