#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 30_logs: a try's stdout and stderr are stored at state_dir/logs/DAG/RUN/TASK/TRY.log and shown by
# `tasks logs`.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

write_dag logs <<EOF_DAG
dag logs {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image = "$IMAGE"
  }
  task talker {
    shell = "echo out-line-7f3a; echo err-line-91bc >&2; echo task={{ task_id }} try={{ try_number }}"
  }
}
EOF_DAG

step "dags test logs"
sf_run dags test logs
assert_eq 0 "$RC" "exit code of dags test logs"
run_id=$(latest_run_id logs)
tasks=$(tasks_json logs "$run_id")
assert_eq success "$(task_field "$tasks" talker state)" "state of talker"

step "the log file"
log_path=$(task_field "$tasks" talker log_path)
assert_ne null "$log_path" "log_path of talker"
expected="$SWARMFLOW_STATE_DIR/logs/logs/$run_id/talker/1.log"
assert_eq "$(realpath -m "$expected")" "$(realpath -m "$log_path")" "log_path of talker"
assert_file "$expected" "log file"
content=$(cat "$expected")
printf '%s\n' "$content"
assert_contains "$content" out-line-7f3a "log file"
assert_contains "$content" err-line-91bc "log file"
assert_contains "$content" "task=talker try=1" "log file"

step "tasks logs"
sf_run tasks logs logs "$run_id" talker
assert_eq 0 "$RC" "exit code of tasks logs"
assert_contains "$OUT" out-line-7f3a "tasks logs"
assert_contains "$OUT" err-line-91bc "tasks logs"

sf_run tasks logs logs "$run_id" talker --try 1
assert_eq 0 "$RC" "exit code of tasks logs --try 1"
assert_contains "$OUT" out-line-7f3a "tasks logs --try 1"
assert_contains "$OUT" err-line-91bc "tasks logs --try 1"

sf_run tasks logs logs "$run_id" talker --try 2
assert_ne 0 "$RC" "exit code of tasks logs --try 2 (no such try)"
