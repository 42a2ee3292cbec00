#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 40_exit_code: a task exiting 3 is failed with exit code 3, its downstream upstream_failed, an
# independent branch still succeeds, and dags test exits 1.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

write_dag exits <<EOF_DAG
dag exits {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image = "$IMAGE"
  }
  task bad {
    shell = "echo about to fail; exit 3"
  }
  task after_bad {
    upstream = {bad}
    shell    = "echo must not run"
  }
  task good {
    shell = "sleep 2; echo fine"
  }
  task after_good {
    upstream = {good}
    shell    = "echo also fine"
  }
}
EOF_DAG

step "dags test exits"
sf_run dags test exits
assert_eq 1 "$RC" "exit code of dags test exits"

run_id=$(latest_run_id exits)
assert_eq failed "$(runs_json exits | jq -r '.[0].state')" "run state"
tasks=$(tasks_json exits "$run_id")
jq . <<<"$tasks"

assert_eq failed "$(task_field "$tasks" bad state)" "state of bad"
assert_eq 3 "$(task_field "$tasks" bad exit_code)" "exit_code of bad"
assert_contains "$(task_field "$tasks" bad error)" "non-zero exit (3)" "error of bad"
assert_eq upstream_failed "$(task_field "$tasks" after_bad state)" "state of after_bad"
assert_eq null "$(task_field "$tasks" after_bad service_id)" "service_id of after_bad (never dispatched)"
assert_eq success "$(task_field "$tasks" good state)" "state of good"
assert_eq success "$(task_field "$tasks" after_good state)" "state of after_good"
assert_eq 0 "$(task_field "$tasks" after_good exit_code)" "exit_code of after_good"

step "the store agrees"
assert_eq "failed|3" "$(sqlite "SELECT state, exit_code FROM task_instances WHERE dag_id = 'exits' AND run_id = '$run_id' AND task_id = 'bad'")" "store row of bad"
assert_eq "upstream_failed" "$(sqlite "SELECT state FROM task_instances WHERE dag_id = 'exits' AND run_id = '$run_id' AND task_id = 'after_bad'")" "store row of after_bad"
assert_eq failed "$(sqlite "SELECT state FROM dag_runs WHERE dag_id = 'exits' AND run_id = '$run_id'")" "run state in the store"

step "the failed task's logs are kept and its service removed"
sf_run tasks logs exits "$run_id" bad
assert_contains "$OUT" "about to fail" "tasks logs of bad"
! service_exists "$(task_field "$tasks" bad service_name)" || fail "the failed task's service still exists"
