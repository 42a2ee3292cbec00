#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 48_clear: a run whose task fails (a flag file on a bind mount is missing) ends failed with its
# downstream upstream_failed; once the cause is fixed, `tasks clear ... --downstream` with the
# daemon running re-runs that task (try 2) and everything after it, and the run ends success.
# Both tries' logs are kept; a task that is running cannot be cleared; bad names are refused.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

flag_dir="$E2E_WORK/flag"
mkdir -p "$flag_dir"
# The policy (when enforced) must let DAGs bind-mount from this case's work dir.
export SWARMFLOW_POLICY_BIND_MOUNT_PREFIXES="$E2E_WORK"

write_dag fixme <<EOF_DAG
dag fixme {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image = "$IMAGE"
  }
  task prepare {
    shell = "echo prepared"
  }
  task fragile {
    upstream = {prepare}
    mounts   = {"type=bind,source=$flag_dir,target=/flag,readonly"}
    shell    = "echo try {{ try_number }}; if test -f /flag/fixed; then echo fixed-now; sleep 3; else echo still-broken >&2; exit 4; fi"
  }
  task after {
    upstream = {fragile}
    shell    = "echo after"
  }
  task final {
    upstream = {after}
    shell    = "echo final"
  }
  task side {
    upstream = {prepare}
    shell    = "echo side"
  }
}
EOF_DAG

step "the scheduler runs a triggered run, which fails"
bg scheduler
sched_pid=$BG_PID
rc=0
timeout 120 "$SWARMFLOW_BIN" dags trigger fixme --run-id clear_run --wait || rc=$?
assert_eq 1 "$rc" "exit code of dags trigger --wait (the run fails)"
tasks=$(tasks_json fixme clear_run)
assert_eq failed "$(task_field "$tasks" fragile state)" "fragile after the first run"
assert_eq 4 "$(task_field "$tasks" fragile exit_code)" "fragile's exit code"
assert_eq upstream_failed "$(task_field "$tasks" after state)" "after"
assert_eq upstream_failed "$(task_field "$tasks" final state)" "final"
assert_eq success "$(task_field "$tasks" side state)" "side"
assert_eq failed "$(runs_json fixme | jq -r '.[0].state')" "run state"

step "bad requests are refused and change nothing"
sf_run tasks clear fixme clear_run nosuch --downstream
assert_eq 1 "$RC" "exit code for an unknown task"
assert_contains "$OUT" "DAG 'fixme' has no task 'nosuch'"
sf_run tasks clear fixme no_such_run
assert_eq 1 "$RC" "exit code for an unknown run"
sf_run tasks clear fixme
assert_eq 2 "$RC" "exit code without a run id"
assert_eq failed "$(runs_json fixme | jq -r '.[0].state')" "run state after refusals"

step "fix the cause, clear fragile and its downstream with the daemon running"
touch "$flag_dir/fixed"
sf_run tasks clear fixme clear_run fragile --downstream
assert_eq 0 "$RC" "exit code of tasks clear"
assert_contains "$OUT" "cleared fragile (was failed, try 1)"
assert_contains "$OUT" "cleared after (was upstream_failed, try 0)"
assert_contains "$OUT" "cleared final (was upstream_failed, try 0)"
assert_not_contains "$OUT" "cleared side"
assert_not_contains "$OUT" "cleared prepare"
assert_contains "$OUT" "queued again"

step "a running task cannot be cleared"
fragile_busy() {
	local s
	s=$(task_field "$(tasks_json fixme clear_run)" fragile state)
	[[ $s == queued || $s == running ]]
}
wait_until 60 "fragile queued or running again" fragile_busy
sf_run tasks clear fixme clear_run fragile
assert_eq 1 "$RC" "exit code of clearing a busy task"
assert_match "$OUT" "cannot clear task 'fragile': it is (queued|running)" "refusal"

step "the run ends success"
run_over() {
	local s
	s=$(runs_json fixme | jq -r '.[0].state')
	[[ $s == success || $s == failed ]]
}
wait_until 90 "the cleared run to end" run_over
tasks=$(tasks_json fixme clear_run)
jq . <<<"$tasks"
assert_eq success "$(runs_json fixme | jq -r '.[0].state')" "run state after the clear"
assert_eq success "$(task_field "$tasks" fragile state)" "fragile"
assert_eq 2 "$(task_field "$tasks" fragile try_number)" "fragile's try number"
assert_eq 2 "$(task_field "$tasks" fragile max_tries)" "fragile's max_tries"
assert_eq 0 "$(task_field "$tasks" fragile exit_code)" "fragile's exit code"
for t in after final; do
	assert_eq success "$(task_field "$tasks" "$t" state)" "$t"
	assert_eq 1 "$(task_field "$tasks" "$t" try_number)" "$t's try number"
done
for t in prepare side; do
	assert_eq 1 "$(task_field "$tasks" "$t" try_number)" "$t's try number (not cleared)"
done

step "both tries of fragile keep their logs"
sf_run tasks logs fixme clear_run fragile --try 1
assert_eq 0 "$RC" "tasks logs --try 1"
assert_contains "$OUT" "try 1"
assert_contains "$OUT" "still-broken"
sf_run tasks logs fixme clear_run fragile --try 2
assert_eq 0 "$RC" "tasks logs --try 2"
assert_contains "$OUT" "try 2"
assert_contains "$OUT" "fixed-now"
paths=$(sqlite "SELECT tr.log_path FROM task_tries tr JOIN task_instances ti ON ti.id = tr.ti_pk
	WHERE ti.dag_id = 'fixme' AND ti.run_id = 'clear_run' AND ti.task_id = 'fragile'
	ORDER BY tr.try_number")
assert_eq 2 "$(wc -l <<<"$paths")" "tries of fragile in the store"
while read -r p; do assert_file "$p" "log of a try of fragile"; done <<<"$paths"

step "clearing a successful run without task names clears nothing"
sf_run tasks clear fixme clear_run
assert_eq 0 "$RC" "exit code of an empty clear"
assert_contains "$OUT" "nothing to clear"
assert_eq success "$(runs_json fixme | jq -r '.[0].state')" "run state after an empty clear"

step "SIGTERM the scheduler"
kill -TERM "$sched_pid"
rc=0
wait "$sched_pid" || rc=$?
assert_eq 0 "$rc" "exit code of the scheduler after SIGTERM"
