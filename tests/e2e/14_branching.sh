#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 14_branching: branches and short circuits on the real swarm. A branch task chooses one of two
# paths by its output: only the chosen path runs, the other is skipped, and a join with
# none_failed_min_one_success runs after it. A branch naming a task that is not its direct
# downstream fails with that name. A short circuit whose output is "false" skips everything
# downstream (trigger rules ignored, as in Airflow); one whose output is not false lets it run.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

write_dag branchy <<EOF_DAG
dag branchy {
  defaults {
    image = "$IMAGE"
  }
  task check {
    shell  = "echo rows=12; echo '{\"rows\": 12}'"
    output = "last_line"
  }
  task pick {
    upstream = {check}
    branch   = true
    shell    = "if [ {{ upstream.check.output_json.rows }} -gt 10 ]; then echo big_path; else echo small_path; fi"
  }
  task big_path {
    upstream = {pick}
    shell    = "echo big"
  }
  task small_path {
    upstream = {pick}
    shell    = "echo small"
  }
  task after_small {
    upstream = {small_path}
    shell    = "echo after small"
  }
  task done_small {
    upstream     = {small_path}
    trigger_rule = "all_done"
    shell        = "echo all_done runs after a skipped upstream, as in Airflow"
  }
  task join {
    upstream     = {big_path, after_small}
    trigger_rule = "none_failed_min_one_success"
    shell        = "echo joined"
  }
}
EOF_DAG

step "dags test branchy: only big_path runs"
sf_run dags test branchy
assert_eq 0 "$RC" "dags test branchy"
tasks=$(tasks_json branchy "$(latest_run_id branchy)")
jq -c '.[] | [.task_id, .state, .output]' <<<"$tasks"
assert_eq success "$(task_field "$tasks" pick state)" "the branch task"
assert_eq big_path "$(task_field "$tasks" pick output)" "its output: the chosen task"
assert_eq success "$(task_field "$tasks" big_path state)" "the chosen path"
assert_eq skipped "$(task_field "$tasks" small_path state)" "the other path"
assert_eq null "$(task_field "$tasks" small_path service_name)" "no service for the skipped path"
assert_eq skipped "$(task_field "$tasks" after_small state)" "the skip goes on down (all_success)"
assert_eq success "$(task_field "$tasks" done_small state)" "an all_done task after the skipped path runs"
assert_eq success "$(task_field "$tasks" join state)" "the join (none_failed_min_one_success)"

step "a branch naming a task that is not its direct downstream fails"
write_dag badbranch <<EOF_DAG
dag badbranch {
  defaults {
    image = "$IMAGE"
  }
  task pick {
    branch = true
    shell  = "echo '[\"left\", \"nowhere\"]'"
  }
  task left {
    upstream = {pick}
    shell    = "echo left"
  }
  task right {
    upstream = {pick}
    shell    = "echo right"
  }
}
EOF_DAG
sf_run dags test badbranch
assert_eq 1 "$RC" "dags test badbranch fails"
tasks=$(tasks_json badbranch "$(latest_run_id badbranch)")
assert_eq failed "$(task_field "$tasks" pick state)" "the branch task"
assert_eq "branch chose 'nowhere', which is not a direct downstream of 'pick' (its downstream tasks: left, right)" \
	"$(task_field "$tasks" pick error)" "its error names the task"
assert_eq upstream_failed "$(task_field "$tasks" left state)" "left"
assert_eq upstream_failed "$(task_field "$tasks" right state)" "right"

step "a short circuit that outputs false skips everything downstream"
write_dag circuit <<EOF_DAG
dag circuit {
  defaults {
    image = "$IMAGE"
  }
  task gate {
    short_circuit = true
    shell         = "echo checking; echo false"
  }
  task a {
    upstream = {gate}
    shell    = "echo a"
  }
  task b {
    upstream     = {a}
    trigger_rule = "all_done"
    shell        = "echo b"
  }
  task open_gate {
    short_circuit = true
    shell         = "echo yes"
  }
  task c {
    upstream = {open_gate}
    shell    = "echo c"
  }
}
EOF_DAG
sf_run dags test circuit
assert_eq 0 "$RC" "dags test circuit"
tasks=$(tasks_json circuit "$(latest_run_id circuit)")
jq -c '.[] | [.task_id, .state, .output]' <<<"$tasks"
assert_eq success "$(task_field "$tasks" gate state)" "the short circuit"
assert_eq skipped "$(task_field "$tasks" a state)" "its direct downstream"
assert_eq skipped "$(task_field "$tasks" b state)" "further down, all_done: skipped all the same"
assert_eq success "$(task_field "$tasks" c state)" "after a short circuit that is not false"
