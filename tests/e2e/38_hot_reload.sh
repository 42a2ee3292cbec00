#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 38_hot_reload: a running scheduler (dag_reload_interval = 1 s) picks up a DAG file copied into
# the dags folder and runs it without a restart; a file that turns invalid keeps its last good
# version (a run in progress goes on; `dags list` shows the DAG and the error; it can still be
# triggered); a deleted file's DAG leaves `dags list` and the scheduler within seconds (a run in
# progress waits for it).
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

export SWARMFLOW_DAG_RELOAD_INTERVAL=1
dag_file="$SWARMFLOW_DAGS_FOLDER/fresh.dag"
now_ms() { date +%s%3N; }
iso_ms() { echo $(($(ts_ns "$1") / 1000000)); }

# fresh_dag UPSTREAM: the DAG text; `later` depends on UPSTREAM (hello is right, helo is broken).
fresh_dag() {
	cat <<EOF_DAG
dag fresh {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image = "$IMAGE"
  }
  task hello {
    shell = "sleep 3; echo hello from {{ run_id }}"
  }
  task later {
    upstream = {$1}
    shell    = "echo later in {{ run_id }}"
  }
}
EOF_DAG
}
fresh_dag hello >"$E2E_WORK/fresh.good"
fresh_dag helo >"$E2E_WORK/fresh.broken"

step "start the scheduler on an empty dags folder"
bg scheduler
sched_pid=$BG_PID
sched_log=$BG_LOG
# Its loop is running once it has written a heartbeat: only then is a new file a reload's job.
is_healthy() { "$SWARMFLOW_BIN" health >/dev/null 2>&1; }
wait_until 20 "the scheduler's loop to run (swarmflow health)" is_healthy
kill -0 "$sched_pid" 2>/dev/null || fail "the scheduler exited at once: $(cat "$sched_log")"
alive() { kill -0 "$sched_pid" 2>/dev/null || fail "the scheduler died: $(tail -n 30 "$sched_log")"; }

# run_field RUN_ID FIELD: one field of a run of fresh (runs list --json).
run_field() { runs_json fresh | jq -r --arg r "$1" --arg f "$2" '.[] | select(.run_id == $r) | .[$f]'; }

step "copy a new DAG file in; trigger it at once"
copied_ms=$(now_ms)
cp "$E2E_WORK/fresh.good" "$dag_file"
rc=0
timeout 120 "$SWARMFLOW_BIN" dags trigger fresh --run-id first --wait || rc=$?
assert_eq 0 "$rc" "exit code of dags trigger fresh --wait"
assert_eq success "$(run_field first state)" "state of run first"
picked_ms=$(($(iso_ms "$(run_field first start_date)") - copied_ms))
printf 'the scheduler started the run %d ms after the file was copied\n' "$picked_ms"
((picked_ms <= 4000)) || fail "the run started ${picked_ms} ms after the copy (reload interval 1 s)"
assert_line_match "$(cat "$sched_log")" "dags reloaded files=1 errors=0" "scheduler log"
alive

step "break the file while a run is in progress: its next task still comes from the last good version"
sf_run dags trigger fresh --run-id second
assert_eq 0 "$RC" "exit code of dags trigger fresh --run-id second"
hello_running() { [[ $(task_field "$(tasks_json fresh second)" hello state) == running ]]; }
wait_until 60 "hello of run second to run" hello_running
cp "$E2E_WORK/fresh.broken" "$dag_file"
second_done() { [[ $(run_field second state) == success || $(run_field second state) == failed ]]; }
wait_until 90 "run second to end" second_done
assert_eq success "$(run_field second state)" "state of run second (its DAG file broke meanwhile)"
# In the scheduler's log the reload of the broken file comes before later's dispatch.
order=$(grep -nE "dags reloaded files=1 errors=1|task queued dag=fresh run=second task=later" "$sched_log" |
	sed -E 's/^([0-9]+):.*(errors=1|task=later).*/\2/' | tr '\n' ' ')
printf 'order in the scheduler log: %s\n' "$order"
assert_match "$order" "^errors=1 task=later $" "order of the reload and later's dispatch"
assert_not_contains "$(cat "$sched_log")" "run waits for its DAG dag=fresh" "scheduler log"
alive

step "dags list shows the error and still lists the DAG (its last good version)"
list=$("$SWARMFLOW_BIN" dags list --json) || fail "dags list --json failed"
jq . <<<"$list"
errors=$(jq -r --arg f "$dag_file" '[.[] | select(.file == $f) | .errors[] | "\(.line): \(.message)"] | join("\n")' <<<"$list")
assert_contains "$errors" "unknown upstream 'helo'" "errors of $dag_file in dags list --json"
assert_match "$errors" "^1[0-9]: " "line of the error"
assert_eq 1 "$(jq '[.[] | select(.dag_id == "fresh")] | length' <<<"$list")" \
	"entries for DAG fresh in dags list --json (the last good version)"

step "the broken file's DAG can still be triggered and runs its last good version"
rc=0
timeout 120 "$SWARMFLOW_BIN" dags trigger fresh --run-id third --wait || rc=$?
assert_eq 0 "$rc" "exit code of dags trigger fresh --run-id third --wait (file broken)"
sf_run tasks logs fresh third later
assert_contains "$OUT" "later in third" "log of later in run third"
alive

step "repair the file, start a run, then delete the file: the DAG leaves dags list and the scheduler"
cp "$E2E_WORK/fresh.good" "$dag_file"
sf_run dags trigger fresh --run-id fourth
assert_eq 0 "$RC" "exit code of dags trigger fresh --run-id fourth"
hello_in_flight() {
	local s
	s=$(task_field "$(tasks_json fresh fourth)" hello state)
	[[ $s == queued || $s == running || $s == success ]]
}
wait_until 60 "hello of run fourth to be dispatched" hello_in_flight
rm "$dag_file"
gone_from_list() {
	local l
	l=$("$SWARMFLOW_BIN" dags list --json) || return 1
	[[ $(jq '[.[] | select(.dag_id == "fresh" or .file == "'"$dag_file"'")] | length' <<<"$l") == 0 ]]
}
wait_until 5 "fresh to leave dags list" gone_from_list
sched_saw_it() { grep -q "run waits for its DAG dag=fresh run=fourth" "$sched_log"; }
wait_until 20 "the scheduler to notice that fresh is gone (it says so after 10 s)" sched_saw_it
# hello's try (if still in flight) is polled to its end and its service removed.
no_services() { [[ -z $(our_services) ]]; }
wait_until 60 "the services of run fourth to be removed" no_services
alive
assert_eq 1 "$(grep -c "scheduler starting" "$sched_log" || true)" "scheduler start lines (no restart)"

step "SIGTERM the scheduler"
kill -TERM "$sched_pid"
rc=0
wait "$sched_pid" || rc=$?
assert_eq 0 "$rc" "exit code of the scheduler after SIGTERM"
