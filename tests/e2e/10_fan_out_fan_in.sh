#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 10_fan_out_fan_in: a -> {b, c, d} -> e runs every task once, in dependency order, all success.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

write_dag fan <<EOF_DAG
dag fan {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image = "$IMAGE"
  }
  task a {
    shell = "echo task a; sleep 1"
  }
  task b {
    upstream = {a}
    shell    = "echo task b; sleep 1"
  }
  task c {
    upstream = {a}
    shell    = "echo task c; sleep 1"
  }
  task d {
    upstream = {a}
    shell    = "echo task d; sleep 1"
  }
  task e {
    upstream = {b, c, d}
    shell    = "echo task e"
  }
}
EOF_DAG

step "dags test fan"
sf_run dags test fan
assert_eq 0 "$RC" "exit code of dags test fan"

run_id=$(latest_run_id fan)
runs=$(runs_json fan)
assert_eq 1 "$(jq length <<<"$runs")" "number of runs of fan"
assert_eq success "$(jq -r '.[0].state' <<<"$runs")" "run state in runs list --json"
assert_eq "$run_id" "$(jq -r '.[0].run_id' <<<"$runs")" "run id"

step "tasks list fan $run_id --json"
tasks=$(tasks_json fan "$run_id")
jq . <<<"$tasks"
assert_eq 5 "$(jq length <<<"$tasks")" "number of task rows"
for t in a b c d e; do
	assert_eq success "$(task_field "$tasks" "$t" state)" "state of $t"
	assert_eq 1 "$(task_field "$tasks" "$t" try_number)" "try_number of $t"
	assert_eq 0 "$(task_field "$tasks" "$t" exit_code)" "exit_code of $t"
	assert_eq null "$(task_field "$tasks" "$t" error)" "error of $t"
	assert_match "$(task_field "$tasks" "$t" service_name)" "^swarmflow_fan_${t}_[0-9a-f]{8}$" "service_name of $t"
	assert_ne null "$(task_field "$tasks" "$t" service_id)" "service_id of $t"
	assert_ne null "$(task_field "$tasks" "$t" start_date)" "start_date of $t"
	assert_ne null "$(task_field "$tasks" "$t" end_date)" "end_date of $t"
done

# Order, from --json: each task starts no earlier than every upstream ended.
check_order() { # SOURCE DOWNSTREAM UPSTREAM START END
	local what=$1 down=$2 up=$3 start=$4 end=$5
	((start >= end)) || fail "$what: $down started ($start) before its upstream $up ended ($end)"
}
for edge in a:b a:c a:d b:e c:e d:e; do
	up=${edge%%:*} down=${edge##*:}
	check_order json "$down" "$up" \
		"$(ts_ns "$(task_field "$tasks" "$down" start_date)")" \
		"$(ts_ns "$(task_field "$tasks" "$up" end_date)")"
done

# The same from the store, which must agree with the JSON on states.
step "the store"
sqlite -header -column \
	"SELECT task_id, state, try_number, exit_code, start_ms, end_ms, service_name FROM task_instances
	 WHERE dag_id = 'fan' AND run_id = '$run_id' ORDER BY start_ms"
assert_eq success "$(sqlite "SELECT state FROM dag_runs WHERE dag_id = 'fan' AND run_id = '$run_id'")" "run state in the store"
assert_eq 5 "$(sqlite "SELECT count(*) FROM task_instances WHERE dag_id = 'fan' AND run_id = '$run_id' AND state = 'success' AND exit_code = 0")" "successful task rows in the store"
ms() { sqlite "SELECT $1 FROM task_instances WHERE dag_id = 'fan' AND run_id = '$run_id' AND task_id = '$2'"; }
for edge in a:b a:c a:d b:e c:e d:e; do
	up=${edge%%:*} down=${edge##*:}
	check_order store "$down" "$up" "$(ms start_ms "$down")" "$(ms end_ms "$up")"
done

# Services are gone after the run.
for t in a b c d e; do
	name=$(task_field "$tasks" "$t" service_name)
	! service_exists "$name" || fail "service $name of task $t still exists after the run"
done
